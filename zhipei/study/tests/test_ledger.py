"""Properties of the ledger, over arbitrary heartbeat sequences (Hypothesis), and examples."""

from hypothesis import given, settings
from hypothesis import strategies as st

from zhipei.study import ledger as L

RULES = L.Rules(max_gap=30.0)

beats = st.lists(
    st.tuples(
        st.integers(min_value=-2, max_value=60),  # seq: duplicates, reordering, garbage
        st.floats(
            min_value=-5, max_value=120, allow_nan=False
        ),  # seconds since the previous arrival
        st.floats(min_value=-50, max_value=700, allow_nan=False),  # claimed position
        st.sampled_from([1.0, 1.0, 1.0, 2.0, 0.5]),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.sampled_from([None, None, None, L.QUIZ, L.FACE_PENDING]),
        st.sampled_from(["", "", "", "", "checkpoint", "void", "void_half"]),
    ),
    max_size=60,
)


def run(sequence, duration=600.0):
    state = L.State(duration=duration)
    now = 1_000_000.0
    first = None
    total_credit = total_voided = 0.0
    seen = set()
    for seq, dt, pos, rate, visible, focused, playing, blocked, action in sequence:
        now += dt  # arrival times may go backwards too: such beats must be refused
        before = state.furthest
        step = L.apply(
            state, L.Beat(seq, now, pos, rate, visible, focused, playing), RULES, blocked=blocked
        )
        if step.accepted:
            assert seq not in seen
            seen.add(seq)
            if first is None:
                first = now
        else:
            assert step.credit == 0 and state.furthest == before
        assert step.credit >= 0
        total_credit += step.credit
        if step.closed is not None:
            total_voided += L.drop_short_run(state, step.closed, RULES)
        if action == "checkpoint":
            L.checkpoint(state)
        elif action == "void":
            total_voided += L.void_after(state)
        elif action == "void_half" and state.last_at is not None:
            total_voided += L.void_after(state, state.last_at - 10)
    state.accepted_seqs = sorted(seen)
    return state, total_credit, total_voided, first


@settings(max_examples=400, deadline=None)
@given(beats)
def test_never_more_than_wall_clock_nor_progress_nor_twice(sequence):
    state, credit, voided, first = run(sequence)
    wall = (state.last_at - first) if first is not None else 0.0
    assert credit <= wall + 1e-6  # never more than the server's wall clock
    assert abs(state.credited - (credit - voided)) < 1e-6
    assert state.credited <= state.furthest + 1e-6  # never more than the forward progress
    assert 0 <= state.furthest <= state.duration + 1e-6
    assert state.credited >= -1e-6


@settings(max_examples=200, deadline=None)
@given(beats)
def test_replaying_the_same_beats_credits_nothing(sequence):
    state, _, _, _ = run(sequence)
    before = state.credited
    for seq in state.accepted_seqs:  # the same sequence numbers again, later, at any position
        step = L.apply(state, L.Beat(seq, (state.last_at or 0) + 10, 300.0), RULES)
        assert not step.accepted and step.credit == 0
    assert state.credited == before


def watch(state, start_seq, start_at, start_pos, seconds, every=10.0, **kw):
    steps = []
    t, p, seq = start_at, start_pos, start_seq
    for _ in range(int(seconds // every)):
        t += every
        p += every
        seq += 1
        steps.append(L.apply(state, L.Beat(seq, t, p, **kw), RULES))
    return steps, seq, t, p


def test_watching_at_1x_is_credited_in_full():
    state = L.State(duration=120)
    L.apply(state, L.Beat(1, 0.0, 0.0), RULES)
    steps, *_ = watch(state, 1, 0.0, 0.0, 120)
    assert abs(state.credited - 120) < 1e-6
    assert all(not s.uncredited for s in steps)
    assert len(state.pending) == 1  # one continuous run, not a row per heartbeat


def test_double_speed_seek_hidden_and_rewatch_earn_nothing_and_say_why():
    state = L.State(duration=600)
    L.apply(state, L.Beat(1, 0.0, 0.0), RULES)
    assert L.apply(state, L.Beat(2, 10.0, 20.0, rate=2.0), RULES).uncredited[0][2] == L.RATE
    assert L.apply(state, L.Beat(3, 20.0, 300.0), RULES).uncredited[0][2] == L.SEEK
    assert L.apply(state, L.Beat(4, 30.0, 310.0), RULES).uncredited[0][2] == L.SEEK  # still beyond
    assert state.credited == 0
    # Back at the frontier (the player snaps back), credit resumes.
    L.apply(state, L.Beat(5, 40.0, 0.0, playing=False), RULES)
    assert L.apply(state, L.Beat(6, 50.0, 10.0), RULES).credit == 10
    assert L.apply(state, L.Beat(7, 60.0, 20.0, visible=False), RULES).uncredited[0][2] == L.HIDDEN
    L.apply(state, L.Beat(8, 70.0, 0.0), RULES)
    assert L.apply(state, L.Beat(9, 80.0, 10.0), RULES).uncredited[0][2] == L.REWATCH


def test_a_long_gap_is_capped():
    state = L.State(duration=600)
    L.apply(state, L.Beat(1, 0.0, 0.0), RULES)
    step = L.apply(state, L.Beat(2, 100.0, 100.0), RULES)
    # 100 s of progress in 100 s of silence: credited only up to the longest allowed gap.
    assert step.credit == 30
    assert step.uncredited == [(0.0, 70.0, L.GAP)]


def test_a_failed_face_check_voids_time_since_the_last_good_one():
    state = L.State(duration=600)
    L.apply(state, L.Beat(1, 0.0, 0.0), RULES)
    _, seq, t, p = watch(state, 1, 0.0, 0.0, 60)
    assert [r.seconds for r in L.checkpoint(state)] == [60]
    _, seq, t, p = watch(state, seq, t, p, 40)
    assert L.void_after(state) == 40
    assert state.credited == 60 and state.furthest == 60


def test_short_segments_do_not_count():
    rules = L.Rules(min_segment=30)
    state = L.State(duration=600)
    L.apply(state, L.Beat(1, 0.0, 0.0), rules)
    L.apply(state, L.Beat(2, 10.0, 10.0), rules)
    L.apply(state, L.Beat(3, 20.0, 20.0), rules)
    step = L.apply(state, L.Beat(4, 30.0, 30.0, visible=False), rules)
    assert step.closed is not None
    assert L.drop_short_run(state, step.closed, rules) == 20
    assert state.credited == 0 and state.furthest == 0


def test_one_late_heartbeat_costs_its_delay_and_never_locks_the_session_out():
    state = L.State(duration=600)
    L.apply(state, L.Beat(1, 0.0, 0.0), RULES)
    L.apply(state, L.Beat(2, 10.0, 10.0), RULES)
    L.apply(state, L.Beat(3, 23.0, 20.0), RULES)  # sent at 20 s, arrived 3 s late
    step = L.apply(
        state, L.Beat(4, 30.0, 30.0), RULES
    )  # on time again: 10 s of video in 7 s of wall
    assert step.credit == 7 and not any(r == L.SEEK for *_, r in step.uncredited)
    for n in range(5, 10):
        assert (
            L.apply(state, L.Beat(n, 30.0 + (n - 4) * 10, 30.0 + (n - 4) * 10), RULES).credit == 10
        )
