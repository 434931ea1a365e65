package order

import "context"

// Starter is a Source that begins a fetch without a goroutine of its own:
// a fetch waiting its turn for the upstream is an entry in a queue, so that
// a request naming many orders under load holds goroutines only for the
// fetches the upstream is answering (package loader uses it; package
// coalesce implements it).
type Starter interface {
	Source
	// Start begins fetching id, or joins a fetch of it in flight, and calls
	// ready once the Fetch has its answer, from whatever goroutine has it
	// (before Start returns when it fails at once). ready must not block.
	Start(ctx context.Context, id uint64, ready func()) Fetch
}

// Fetch is one caller's wait for an order that Start began.
type Fetch interface {
	// Result is the answer; it is valid once ready has been called.
	Result() (*Order, error)
	// Leave stops waiting, as a caller of Order does whose context ends:
	// the fetch goes on for others waiting on it, and stops when nobody is.
	Leave()
}

// Failed is a Fetch that failed before it began.
func Failed(err error) Fetch { return failed{err} }

type failed struct{ err error }

func (f failed) Result() (*Order, error) { return nil, f.err }
func (failed) Leave()                    {}
