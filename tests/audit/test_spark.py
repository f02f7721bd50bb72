"""The same SQL text on Spark (local mode) over the same Parquet gives DuckDB's answers.

One SparkSession for the whole module: it takes several seconds to start.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from audit_estate import estate, event

from kerbfirst.audit.analytics import Analytics, duckdb_runner
from kerbfirst.audit.events import AuthMechanism, Disposition
from kerbfirst.audit.store import EventStore

pytestmark = pytest.mark.peer


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    s = EventStore(tmp_path_factory.mktemp("spark-store"))
    evs = estate(500, days=20)
    evs.append(event(record_id=9999, mechanism=AuthMechanism.KERBEROS))
    evs.append(event(record_id=9998, target="", client="", domain="", cause=None))
    failed = estate(60, seed=3, source="failed.evtx")
    for e in failed:  # failed logons from two addresses
        e.disposition = Disposition.FAILED
        e.client_address = "203.0.113.7" if e.record_id % 2 else "198.51.100.4"
    evs += failed
    s.append(evs, batch_size=100)
    s.add_dc_hosts(["FS01"])
    return s


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.fail("pyspark needs a Java runtime: apt-get install openjdk-17-jre-headless")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        pytest.fail("pyspark is missing: pip install 'pyspark>=3.5' (the dev extra)")
    # Spark names its driver after the host; a minimal system or container may not resolve
    # its own host name, so the driver is pinned to loopback (the JVM reads these at start).
    saved = {k: os.environ.get(k) for k in ("SPARK_LOCAL_IP", "SPARK_LOCAL_HOSTNAME")}
    os.environ.update(SPARK_LOCAL_IP="127.0.0.1", SPARK_LOCAL_HOSTNAME="localhost")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("kerbfirst-audit-test")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        # A zone far from UTC: the answers must not depend on the session time zone.
        .config("spark.sql.session.timeZone", "America/Los_Angeles")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _spark_runner(spark: Any, root: Path) -> Any:
    events_dir = str(root / "events")
    spark.read.option("basePath", events_dir).parquet(events_dir).createOrReplaceTempView(
        "events"
    )
    hosts = EventStore(root).dc_hosts()
    spark.createDataFrame([(h,) for h in hosts], "host STRING").createOrReplaceTempView(
        "dc_hosts")

    def run(sql: str) -> list[dict[str, Any]]:
        return [r.asDict() for r in spark.sql(sql).collect()]

    return run


def test_spark_and_duckdb_agree(spark: Any, store: EventStore) -> None:
    on_spark = Analytics(_spark_runner(spark, store.root))
    with store.connect() as con:
        on_duck = Analytics(duckdb_runner(con))
        duck = {
            "bounds": on_duck.bounds(),
            "map": on_duck.failure_map(),
            "daily": on_duck.daily_by_cause(),
            "servers": on_duck.top_servers(5),
            "clients": on_duck.top_clients(5),
            "causes": on_duck.cause_breakdown(),
            "readiness": on_duck.readiness(),
            "flows": on_duck.flows(),
            "outcomes": on_duck.outcomes(),
            "failure_sources": on_duck.failure_sources(1),
            "coverage": on_duck.coverage(),
        }
    sparked = {
        "bounds": on_spark.bounds(),
        "map": on_spark.failure_map(),
        "daily": on_spark.daily_by_cause(),
        "servers": on_spark.top_servers(5),
        "clients": on_spark.top_clients(5),
        "causes": on_spark.cause_breakdown(),
        "readiness": on_spark.readiness(),
        "flows": on_spark.flows(),
        "outcomes": on_spark.outcomes(),
        "failure_sources": on_spark.failure_sources(1),
        "coverage": on_spark.coverage(),
    }
    assert duck["bounds"].events == 561
    assert len(duck["failure_sources"]) == 2 and any(c.is_dc for c in duck["coverage"])
    assert len(duck["map"]) > 20 and len(duck["daily"]) > 20
    for name, want in duck.items():
        assert sparked[name] == want, name
