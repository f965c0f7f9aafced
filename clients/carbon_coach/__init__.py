"""Coach carbone: an example service that reads Linky data through Aiguillage's SDK only."""

from clients.carbon_coach.app import create_coach_app
from clients.carbon_coach.config import CoachConfig

__all__ = ["CoachConfig", "create_coach_app"]
