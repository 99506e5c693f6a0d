package live

import (
	"math"
	"testing"
)

// totals is what a series stands for: requests sent, spans ended, arrived
// and lost over its time (rate times the time each point covers), and
// the largest queue.
func totals(pts []Point) (sent, ended, arrived, lost, asked, queue float64) {
	prev := 0.0
	for _, p := range pts {
		w := p.T - prev
		prev = p.T
		sent += p.Sent * w
		ended += p.Ended * w
		arrived += p.Arrived * w
		lost += p.Lost * w
		if p.Asked > 0 {
			asked += p.Asked * w
		}
		queue = max(queue, p.Queue)
	}
	return
}

func second(i int) Point {
	asked := 100.0
	if i > 700 {
		asked = -1 // the load is over
	}
	return Point{T: float64(i), Asked: asked, Sent: float64(90 + i%17), Ended: float64(300 + i%29),
		Arrived: float64(280 + i%31), Queue: float64(i % 97 * 3), Lost: float64(i % 5)}
}

func TestThin(t *testing.T) {
	tests := []struct {
		name    string
		seconds int
		limit   int
		want    int // points kept
	}{
		{"under the limit", 10, 12, 10},
		{"at the limit", 12, 12, 12},
		{"one past", 13, 12, 10},                      // 6 merged into 3, 7 kept
		{"an odd limit", 14, 13, 11},                  // 6 into 3, 8 kept
		{"a day at the default", 86400, maxPoints, 0}, // at most maxPoints
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pts, all []Point
			for i := 1; i <= tt.seconds; i++ {
				all = append(all, second(i))
				pts = thin(append(pts, second(i)), tt.limit)
				if len(pts) > tt.limit {
					t.Fatalf("%d points kept after %d s, limit %d", len(pts), i, tt.limit)
				}
			}
			if tt.want > 0 && len(pts) != tt.want {
				t.Errorf("%d points kept, want %d", len(pts), tt.want)
			}
			for i := 1; i < len(pts); i++ {
				if pts[i].T <= pts[i-1].T {
					t.Fatalf("point %d at %v after %v", i, pts[i].T, pts[i-1].T)
				}
			}
			if last := pts[len(pts)-1]; last != all[len(all)-1] {
				t.Errorf("last point %+v, want the newest %+v as it was", last, all[len(all)-1])
			}
			// The newest stretch is as it came, a second apart.
			recent := min(len(pts), tt.limit/2)
			for i := len(pts) - recent; i < len(pts); i++ {
				if pts[i] != all[len(all)-len(pts)+i] {
					t.Fatalf("recent point %d is %+v, want %+v", i, pts[i], all[len(all)-len(pts)+i])
				}
			}
			gs, ge, ga, gl, gk, gq := totals(pts)
			ws, we, wa, wl, wk, wq := totals(all)
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"sent", gs, ws}, {"ended", ge, we}, {"arrived", ga, wa}, {"lost", gl, wl}, {"asked", gk, wk}, {"queue peak", gq, wq}} {
				if math.Abs(c.got-c.want) > 1e-6*max(1, c.want) {
					t.Errorf("%s: %v after thinning, %v before", c.name, c.got, c.want)
				}
			}
		})
	}
}

// TestThinFlatOut keeps asked at -1 where no stretch asked for a rate.
func TestThinFlatOut(t *testing.T) {
	var pts []Point
	for i := 1; i <= 50; i++ {
		pts = thin(append(pts, Point{T: float64(i), Asked: -1, Sent: 5}), 10)
	}
	for _, p := range pts {
		if p.Asked != -1 || p.Sent != 5 {
			t.Fatalf("point %+v, want asked -1 and sent 5", p)
		}
	}
}
