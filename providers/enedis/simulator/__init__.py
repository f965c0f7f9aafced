"""A simulator of Enedis Data Connect (consent page, token, v5 metering and customer APIs)."""

from providers.enedis.simulator.app import create_simulator_app
from providers.enedis.simulator.config import (
    DemoAddress,
    DemoCustomer,
    RegisteredClient,
    SimulatorConfig,
    demo_config,
)

__all__ = [
    "DemoAddress",
    "DemoCustomer",
    "RegisteredClient",
    "SimulatorConfig",
    "create_simulator_app",
    "demo_config",
]
