package live

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
)

// report serves one file of the reports directory: no listing, nothing
// outside it.
func (v *View) report(w http.ResponseWriter, r *http.Request) {
	dir := v.reports.Load()
	name := r.PathValue("file")
	if dir == nil || name == "" || !fs.ValidPath(name) {
		writeError(w, http.StatusNotFound, errors.New("no such report file"))
		return
	}
	root, err := os.OpenRoot(*dir)
	if err != nil {
		writeError(w, http.StatusNotFound, errors.New("no report files"))
		return
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		writeError(w, http.StatusNotFound, errors.New("no such report file"))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		writeError(w, http.StatusNotFound, errors.New("no such report file"))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.ServeContent(w, r, st.Name(), st.ModTime(), f)
}
