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


def test_the_overview_shows_the_three_longest_overdue_as_the_overdue_list_does(
    engine: Engine,
) -> None:
    # Hundreds of overdue measures in every open status: the overview picks its three per
    # status from the index, and they must still be the overdue list's first three.
    generated = generate(engine, 2000)
    coordinator = Chat(bootstrap(Config.model_validate({}), engine=engine), generated.coordinator)
    overview = coordinator.say("status").splitlines()
    at = next(i for i, line in enumerate(overview) if "Überfällig" in line)
    shown = [line.strip() for line in overview[at + 1 : at + 4]]
    listed = [line.strip() for line in coordinator.say("überfällig").splitlines() if "M-" in line]
    assert len(shown) == 3 and all(line.startswith("🔴 M-") for line in shown), overview
    assert shown == listed[:3]
