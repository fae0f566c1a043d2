package metering_test

import (
	"fmt"
	"time"

	"github.com/instars/instars/metering"
)

// Example follows a one-week lease from payment to termination, the way a scheduler would:
// decide, act, then sleep until the next change.
func Example() {
	plan := metering.Plan{
		ID:              "small-weekly",
		Name:            "Small, per week",
		InstanceType:    "m1.small",
		ImageID:         "emi-0a1b2c3d",
		Unit:            metering.UnitWeek,
		Price:           metering.Price{Sats: 150_000},
		MinUnits:        1,
		MaxUnits:        52,
		GraceSeconds:    6 * 3600,
		ReminderSeconds: []int64{86400, 3600},
	}
	paid := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	first, err := plan.NewExtension("invoice-1", 1, paid)
	if err != nil {
		panic(err)
	}
	lease, err := metering.NewLease("lease-1", plan, first)
	if err != nil {
		panic(err)
	}
	// The paid time starts when the instance runs, two minutes after the payment.
	if _, err := lease.Start(paid.Add(2 * time.Minute)); err != nil {
		panic(err)
	}

	clock := metering.NewFakeClock(lease.StartedAt)
	for {
		decision := lease.Decide(clock.Now())
		fmt.Println(clock.Now().Format(time.DateTime), decision.State)
		for _, reminder := range decision.Reminders {
			fmt.Println("  remind:", reminder.Key)
			lease.MarkReminderSent(reminder.Key)
		}
		if decision.State == metering.StateMustTerminate {
			if _, err := lease.Terminate("grace period ended", clock.Now()); err != nil {
				panic(err)
			}
			break
		}
		clock.Set(decision.NextChange)
	}
	// Output:
	// 2026-05-04 09:02:00 active
	// 2026-05-10 09:02:00 active
	//   remind: lease-1/paid-604800/before-86400
	// 2026-05-11 08:02:00 active
	//   remind: lease-1/paid-604800/before-3600
	// 2026-05-11 09:02:00 grace
	// 2026-05-11 15:02:00 must_terminate
}
