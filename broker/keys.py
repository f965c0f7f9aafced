"""Typed application state (``web.AppKey``). Filled by ``create_app``; read by handlers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import aiohttp
import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.crypto import SecretBox, Signer
from broker.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SIGNER = web.AppKey("signer", Signer)
SECRET_BOX = web.AppKey("secret_box", SecretBox)
HTTP = web.AppKey("http", aiohttp.ClientSession)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
Clock = Callable[[], datetime]
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
