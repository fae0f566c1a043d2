package main

import (
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/instars/instars/billing"
)

// chartPoint is the state of the business at one instant.
type chartPoint struct {
	At           time.Time `json:"at"`
	RevenueSat   int64     `json:"revenue_sat"`
	OpenInvoices int64     `json:"open_invoices"`
	Running      int64     `json:"running_instances"`
}

// history samples revenue, open invoices and running instances at points evenly spread from
// the first invoice to now. A settled invoice counts as revenue from its last update, and an
// invoice is open from its creation until its last update once it reached a final state.
func history(invoices []*billing.Invoice, leases []*billing.Lease, now time.Time,
	points int,
) []chartPoint {
	if len(invoices) == 0 {
		return nil
	}
	start := invoices[0].CreatedAt
	for _, inv := range invoices {
		if inv.CreatedAt.Before(start) {
			start = inv.CreatedAt
		}
	}
	span := now.Sub(start)
	if span <= 0 {
		span = time.Minute
	}
	out := make([]chartPoint, points)
	for i := range out {
		at := start.Add(span * time.Duration(i) / time.Duration(points-1))
		p := chartPoint{At: at}
		for _, inv := range invoices {
			open := inv.State == billing.StateNew || inv.State == billing.StateProcessing
			end := inv.UpdatedAt
			if open {
				end = now.Add(time.Second)
			}
			if !inv.CreatedAt.After(at) && at.Before(end) {
				p.OpenInvoices++
			}
			if inv.State == billing.StateSettled && !inv.UpdatedAt.After(at) {
				p.RevenueSat += int64(inv.Paid)
			}
		}
		for _, l := range leases {
			if l.StartedAt.IsZero() || l.StartedAt.After(at) {
				continue
			}
			if l.InstanceTerminatedAt.IsZero() || l.InstanceTerminatedAt.After(at) {
				p.Running++
			}
		}
		out[i] = p
	}
	return out
}

// chart is one titled plot of the admin page.
type chart struct {
	Title string
	SVG   string
}

func newChart(title string, series []chartPoint, value func(chartPoint) int64) chart {
	return chart{Title: title, SVG: chartSVG(title, series, value)}
}

// chartSVG draws one series as an accessible SVG line chart with its axis labels.
func chartSVG(title string, series []chartPoint, value func(chartPoint) int64) string {
	const width, height, left, bottom, top = 480, 160, 64, 24, 12
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d"`+
		` aria-label="%s">`, width, height, width, height, html.EscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(title))
	if len(series) < 2 {
		fmt.Fprintf(&b, `<text x="%d" y="%d">no data yet</text></svg>`, left, height/2)
		return b.String()
	}

	var maxValue int64 = 1
	for _, p := range series {
		maxValue = max(maxValue, value(p))
	}
	plotWidth, plotHeight := float64(width-left-8), float64(height-bottom-top)
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`,
		left, height-bottom, width-8, height-bottom)
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`,
		left, top, left, height-bottom)
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">%d</text>`,
		left-4, top+8, maxValue)
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">0</text>`,
		left-4, height-bottom)
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d">%s</text>`, left, height-6,
		series[0].At.UTC().Format("Jan 2 15:04"))
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">%s</text>`, width-8,
		height-6, series[len(series)-1].At.UTC().Format("Jan 2 15:04"))

	b.WriteString(`<polyline class="line" points="`)
	for i, p := range series {
		x := float64(left) + plotWidth*float64(i)/float64(len(series)-1)
		y := float64(top) + plotHeight*(1-float64(value(p))/float64(maxValue))
		fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
	}
	b.WriteString(`"/></svg>`)
	return b.String()
}
