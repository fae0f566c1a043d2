package metering

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestRealClockMoves(t *testing.T) {
	var clock TimerClock = RealClock{}
	before := time.Now()
	if now := clock.Now(); now.Before(before) {
		t.Errorf("Now() = %v, before %v", now, before)
	}
	if got := <-clock.After(0); got.Before(before) {
		t.Errorf("After(0) delivered %v, before %v", got, before)
	}
}

func TestFakeClockAdvanceFiresTimers(t *testing.T) {
	clock := NewFakeClock(started)
	early := clock.After(time.Minute)
	late := clock.After(time.Hour)
	if n := clock.Waiters(); n != 2 {
		t.Fatalf("Waiters() = %d, want 2", n)
	}

	clock.Advance(59 * time.Second)
	select {
	case got := <-early:
		t.Fatalf("timer fired at %v, before its deadline", got)
	default:
	}

	clock.Advance(time.Second)
	if got := <-early; !got.Equal(started.Add(time.Minute)) {
		t.Errorf("early timer delivered %v, want %v", got, started.Add(time.Minute))
	}
	if n := clock.Waiters(); n != 1 {
		t.Errorf("Waiters() = %d after one fired, want 1", n)
	}

	clock.Set(started.Add(2 * time.Hour))
	if got := <-late; !got.Equal(started.Add(2 * time.Hour)) {
		t.Errorf("late timer delivered %v, want the time set", got)
	}
	if !clock.Now().Equal(started.Add(2 * time.Hour)) {
		t.Errorf("Now() = %v after Set", clock.Now())
	}
}

func TestFakeClockAfterNonPositive(t *testing.T) {
	clock := NewFakeClock(started)
	if got := <-clock.After(-time.Second); !got.Equal(started) {
		t.Errorf("After(-1s) delivered %v, want %v", got, started)
	}
	if n := clock.Waiters(); n != 0 {
		t.Errorf("Waiters() = %d, want 0", n)
	}
}

func TestFakeClockAwaitWaiters(t *testing.T) {
	var clock FakeClock // the zero value works too
	done := make(chan time.Time)
	go func() {
		done <- <-clock.After(time.Second)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.AwaitWaiters(ctx, 1); err != nil {
		t.Fatalf("AwaitWaiters: %v", err)
	}
	clock.Advance(time.Second)
	if got := <-done; !got.Equal(time.Time{}.Add(time.Second)) {
		t.Errorf("sleeper woke at %v", got)
	}

	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	if err := clock.AwaitWaiters(short, 1); err != context.Canceled {
		t.Errorf("AwaitWaiters with a cancelled context = %v, want context.Canceled", err)
	}
}

// TestSchedulerWithFakeClock drives a lease through its life the way a scheduler would:
// sleep until NextChange, act on the decision, repeat.
func TestSchedulerWithFakeClock(t *testing.T) {
	lease := startedDailyLease(t, 2)
	clock := NewFakeClock(started)
	var sent []int64
	var states []State
	for range 20 {
		d := lease.Decide(clock.Now())
		states = append(states, d.State)
		for _, r := range d.Reminders {
			sent = append(sent, r.OffsetSeconds)
			lease.MarkReminderSent(r.Key)
		}
		if d.State == StateMustTerminate {
			if _, err := lease.Terminate("grace period ended", clock.Now()); err != nil {
				t.Fatal(err)
			}
			break
		}
		wake := clock.After(d.NextChange.Sub(clock.Now()))
		clock.Set(d.NextChange)
		<-wake
	}
	if want := []int64{86400, 3600}; !slices.Equal(sent, want) {
		t.Errorf("reminders sent %v, want %v", sent, want)
	}
	if !lease.Terminated() || !lease.TerminatedAt.Equal(lease.GraceEnd()) {
		t.Errorf("terminated at %v, want the grace end %v", lease.TerminatedAt, lease.GraceEnd())
	}
	// Wakes at the start, at each reminder, at the end and at the grace end.
	want := []State{StateActive, StateActive, StateActive, StateGrace, StateMustTerminate}
	if !slices.Equal(states, want) {
		t.Errorf("states %v, want %v", states, want)
	}
}
