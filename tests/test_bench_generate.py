"""The benchmarks' municipality generator still fits the schema (bench/ is not run in CI)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from bench.generate import generate
from bot.bootstrap import bootstrap
from bot.config import Config
from storage.models import Measure
from tests.conftest import Chat


def test_a_generated_municipality_is_served(engine: Engine) -> None:
    generated = generate(engine, 200)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Measure)) == 200
    coordinator = Chat(bootstrap(Config.model_validate({}), engine=engine), generated.coordinator)
    assert "200 Maßnahmen" in coordinator.say("status")
