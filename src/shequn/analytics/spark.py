"""A local Spark session for the analytics, set up the way this machine needs it.

Spark binds to a non-loopback address and reads timestamps in the JVM's timezone by
default; both would make results differ from DuckDB's, so the session is pinned to
127.0.0.1 and UTC. One session per process (starting one takes ~20 s).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import ibis
from ibis.backends import BaseBackend


@lru_cache(maxsize=1)
def spark_session() -> Any:
    """The process's SparkSession (local, 2 cores, UTC, quiet)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", os.environ.get("PYSPARK_PYTHON", "python3"))
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("shequn")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def spark_backend() -> BaseBackend:
    """Ibis on the process's Spark session."""
    return ibis.pyspark.connect(spark_session())
