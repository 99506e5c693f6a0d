package live

// maxPoints is how many points of the series a View keeps and a page
// draws. Past it, the older half is merged in pairs: a demo left running
// for hours keeps the whole of its history in a bounded size, the last
// minutes a second apart and older stretches coarser the older they are.
// A chart is narrower than this many pixels, so nothing visible is lost.
const maxPoints = 1200

// thin returns points with the older half merged in pairs when there are
// more than limit, and points as they are otherwise. The page's script
// thins its own series the same way, so a page that saw every frame draws
// what a page opened later is given.
//
// A merged point stands at the later point's time and covers both
// stretches: its rates are the mean over that time (the totals they stand
// for are kept), its queue the larger of the two, so a peak stays seen.
func thin(points []Point, limit int) []Point {
	if len(points) <= limit || limit < 2 {
		return points
	}
	half := limit / 2
	half -= half % 2
	merged := make([]Point, 0, len(points)-half/2)
	for i := 0; i < half; i += 2 {
		prev := 0.0
		if i > 0 {
			prev = points[i-1].T
		}
		merged = append(merged, merge(points[i], points[i+1], points[i].T-prev, points[i+1].T-points[i].T))
	}
	return append(merged, points[half:]...)
}

// merge is a then b as one point, a covering wa seconds and b wb.
func merge(a, b Point, wa, wb float64) Point {
	wa, wb = max(wa, 0), max(wb, 0)
	if wa+wb == 0 {
		wa, wb = 1, 1
	}
	// float64() rounds each product, as the page's script does: no fused
	// multiply-add, so both compute the same figures.
	mean := func(x, y float64) float64 { return (float64(x*wa) + float64(y*wb)) / (wa + wb) }
	p := Point{
		T:       b.T,
		Sent:    mean(a.Sent, b.Sent),
		Ended:   mean(a.Ended, b.Ended),
		Arrived: mean(a.Arrived, b.Arrived),
		Queue:   max(a.Queue, b.Queue),
		Lost:    mean(a.Lost, b.Lost),
		Asked:   -1,
	}
	// Asked is -1 where the load asked for no rate (flat out, or over): a
	// stretch with one side asking is the mean with nothing asked beside.
	if a.Asked >= 0 || b.Asked >= 0 {
		p.Asked = mean(max(a.Asked, 0), max(b.Asked, 0))
	}
	return p
}
