"""Smoke test of the real Apache Pulsar broker that the tests run against (scripts/pulsar.sh).

``make test`` starts a standalone broker on 127.0.0.1 and exports its URL as
PCOORD_TEST_PULSAR_URL. Without it these tests fail: they are never skipped, so CI cannot pass
without a broker. Each test uses topics of its own, with random names, under public/default.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pulsar
import pytest

pytestmark = pytest.mark.pulsar
PULSAR_URL_VARIABLE = "PCOORD_TEST_PULSAR_URL"
NOT_RUNNING = (
    "the Pulsar broker is not running: `make test` starts it, or run "
    "`bash scripts/pulsar.sh start` and export PCOORD_TEST_PULSAR_URL=$(bash scripts/pulsar.sh url)"
)
# How long a consumer waits for a message that should come, and for one that should not.
RECEIVE_TIMEOUT_MS = 10_000
QUIET_TIMEOUT_MS = 2_000


@pytest.fixture
def client() -> Iterator[pulsar.Client]:
    url = os.environ.get(PULSAR_URL_VARIABLE)
    if not url:
        pytest.fail(f"{PULSAR_URL_VARIABLE} is not set: {NOT_RUNNING}", pytrace=False)
    client = pulsar.Client(url, operation_timeout_seconds=15, connection_timeout_ms=5_000)
    try:
        yield client
    finally:
        client.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_topic() -> str:
    return f"persistent://public/default/{unique('pcoord-smoke')}"


def subscribe(
    client: pulsar.Client, topic: str, consumer_type: pulsar.ConsumerType
) -> pulsar.Consumer:
    """Subscribes from the earliest message; fails the test clearly if the broker is unreachable."""
    try:
        return client.subscribe(
            topic,
            unique("sub"),
            consumer_type=consumer_type,
            initial_position=pulsar.InitialPosition.Earliest,
        )
    except pulsar.PulsarException as error:
        url = os.environ[PULSAR_URL_VARIABLE]
        pytest.fail(f"cannot subscribe at {url} ({error!r}): {NOT_RUNNING}", pytrace=False)


def receive_all(consumer: pulsar.Consumer, count: int) -> list[pulsar.Message]:
    """Receives and acknowledges `count` messages, then checks that no further message comes."""
    messages = []
    for _ in range(count):
        try:
            message = consumer.receive(timeout_millis=RECEIVE_TIMEOUT_MS)
        except pulsar.Timeout:
            pytest.fail(
                f"received {len(messages)} of {count} messages: "
                f"{[m.data() for m in messages]}, then none for {RECEIVE_TIMEOUT_MS} ms"
            )
        consumer.acknowledge(message)
        messages.append(message)
    try:
        extra = consumer.receive(timeout_millis=QUIET_TIMEOUT_MS)
    except pulsar.Timeout:
        return messages
    pytest.fail(f"after the {count} expected messages, another came: {extra.data()!r}")


def test_keyed_messages_arrive_once_and_in_order(client: pulsar.Client) -> None:
    topic = new_topic()
    consumer = subscribe(client, topic, pulsar.ConsumerType.Exclusive)
    producer = client.create_producer(topic, producer_name=unique("pcoord-smoke-producer"))
    assert producer.last_sequence_id() == -1

    sent = []
    for sequence_id in range(20):
        key = f"instrument-{sequence_id % 4}"
        payload = f"event {sequence_id}".encode()
        producer.send(
            payload,
            partition_key=key,
            sequence_id=sequence_id,
            properties={"sequence_id": str(sequence_id)},
        )
        sent.append((payload, key, str(sequence_id)))
    assert producer.last_sequence_id() == 19
    producer.close()

    messages = receive_all(consumer, len(sent))
    received = [(m.data(), m.partition_key(), m.properties()["sequence_id"]) for m in messages]
    assert received == sent
    assert {m.producer_name() for m in messages} == {producer.producer_name()}
    assert all(m.topic_name() == topic for m in messages)
    consumer.close()


def test_broker_deduplication_drops_a_resent_sequence_id(client: pulsar.Client) -> None:
    """A producer that comes back under the same name and resends a sequence id the broker has
    already stored (as after a crash between send and its receipt) is not stored twice."""
    topic = new_topic()
    producer_name = unique("pcoord-smoke-producer")
    consumer = subscribe(client, topic, pulsar.ConsumerType.Failover)

    first = client.create_producer(topic, producer_name=producer_name)
    for sequence_id in range(3):
        first.send(f"first {sequence_id}".encode(), partition_key="k", sequence_id=sequence_id)
    first.close()

    second = client.create_producer(topic, producer_name=producer_name)
    # With deduplication on, the broker tells a returning producer the last sequence id it stored.
    assert second.last_sequence_id() == 2, (
        "the broker did not remember the producer's last sequence id: "
        "is deduplication enabled (brokerDeduplicationEnabled=true)?"
    )
    second.send(b"second 1 (duplicate)", partition_key="k", sequence_id=1)
    second.send(b"second 2 (duplicate)", partition_key="k", sequence_id=2)
    second.send(b"second 3", partition_key="k", sequence_id=3)
    assert second.last_sequence_id() == 3
    second.close()

    messages = receive_all(consumer, 4)
    assert [m.data() for m in messages] == [b"first 0", b"first 1", b"first 2", b"second 3"]
    consumer.close()
