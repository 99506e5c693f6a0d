package simulator

import (
	"sync"
	"sync/atomic"
)

// opt interns name for an optional field: 0 stands for "".
func (s *symbols) opt(name string) uint32 {
	if name == "" {
		return 0
	}
	return s.id(name) + 1
}

// optName returns the name of an opt symbol.
func (s *symbols) optName(id uint32) string {
	if id == 0 {
		return ""
	}
	return s.name(id - 1)
}

// symbols interns the strings ledger records refer to by index.
type symbols struct {
	mu    sync.RWMutex
	index map[string]uint32
	names atomic.Pointer[[]string]
}

func (s *symbols) id(name string) uint32 {
	s.mu.RLock()
	id, ok := s.index[name]
	s.mu.RUnlock()
	if ok {
		return id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.index[name]; ok {
		return id
	}
	if s.index == nil {
		s.index = make(map[string]uint32)
	}
	var names []string
	if p := s.names.Load(); p != nil {
		names = *p
	}
	id = uint32(len(names))
	names = append(names[:len(names):len(names)], name)
	s.names.Store(&names)
	s.index[name] = id
	return id
}

func (s *symbols) name(id uint32) string {
	p := s.names.Load()
	if p == nil || int(id) >= len(*p) {
		return ""
	}
	return (*p)[id]
}
