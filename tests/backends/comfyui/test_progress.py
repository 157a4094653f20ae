"""ProgressTracker: one monotonic fraction from queue, node states and every sampler."""

from __future__ import annotations

from studio.backends.comfyui._progress import SAMPLER_WEIGHT, ProgressTracker

GRAPH = {"1": {"class_type": "EmptyLatentImage"}, "2": {"class_type": "KSampler"},
         "3": {"class_type": "KSampler"}, "4": {"class_type": "VAEDecode"}}


def test_samplers_weigh_most_and_every_step_moves_the_bar() -> None:
    t = ProgressTracker("p", GRAPH)
    assert t.queued(2).message == "queued, 2 job(s) ahead" and t.fraction == 0.0
    t.executing("1")
    t.node_states({"1": {"state": "finished", "value": 1, "max": 1}})
    seen = [t.step("2", i, 10).fraction for i in range(1, 11)]
    seen += [t.step("3", i, 10).fraction for i in range(1, 11)]
    assert seen == sorted(seen) and len(set(seen)) == 20
    total = 2 * SAMPLER_WEIGHT + 2
    assert abs(seen[9] - (1 + SAMPLER_WEIGHT) / total) < 1e-9  # first sampler done
    assert t.finished().fraction == 1.0


def test_late_or_repeated_messages_never_move_it_back() -> None:
    t = ProgressTracker("p", GRAPH)
    t.step("2", 8, 10)
    high = t.fraction
    assert t.node_states({"2": {"state": "running", "value": 1, "max": 10}}).fraction == high
    assert t.executing("2").fraction == high
    assert t.queued(0).fraction == high  # a queue poll answered late


def test_cached_nodes_count_as_done_and_unknown_graphs_learn_from_messages() -> None:
    t = ProgressTracker("p", GRAPH)
    update = t.cached(["1", "2"])
    assert update is not None and update.fraction > 0.4
    blind = ProgressTracker("p")  # a resumed job: no graph
    blind.node_states({"7": {"state": "finished", "value": 1, "max": 1},
                       "8": {"state": "running", "value": 0, "max": 1}})
    assert 0.5 <= blind.fraction < 1.0
