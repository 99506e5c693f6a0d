package assert

// Streamed and SameVerdicts let the tests outside the package (which may
// run real scenarios) judge a run's evidence group by group.
var (
	Streamed     = streamed
	StreamedLive = streamedLive
	SameVerdicts = sameVerdicts
)
