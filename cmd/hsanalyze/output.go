package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// reportFile is where -o FILE writes: a temporary file beside FILE that
// replaces it only once the report is complete, so that a failed run never
// leaves a truncated report (or an old one half overwritten) under FILE.
type reportFile struct {
	path string
	tmp  *os.File
}

// createReport opens the temporary file for path; the error names path.
func createReport(path string) (*reportFile, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// Not os.CreateTemp: its 0600 would override the umask a file the
	// user creates gets.
	var err error
	for range 100 {
		var tmp *os.File
		name := filepath.Join(dir, fmt.Sprintf(".%s.%d.tmp", base, rand.Uint32()))
		tmp, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			return &reportFile{path: path, tmp: tmp}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) { // name FILE, not the temporary file
		err = pe.Err
	}
	return nil, fmt.Errorf("output %s: %w", path, err)
}

// Write writes to the temporary file.
func (r *reportFile) Write(p []byte) (int, error) { return r.tmp.Write(p) }

// commit moves the complete report to its path.
func (r *reportFile) commit() error {
	err := r.tmp.Close()
	if err == nil {
		err = os.Rename(r.tmp.Name(), r.path)
	}
	if err != nil {
		os.Remove(r.tmp.Name())
		return fmt.Errorf("output %s: %w", r.path, err)
	}
	return nil
}

// abort removes the temporary file: FILE is left as it was.
func (r *reportFile) abort() {
	r.tmp.Close()
	os.Remove(r.tmp.Name())
}

// openOutput returns the writer -o names (stdout for "" or "-") and a
// function to call once the report is written: with ok false it discards
// the file, with ok true it puts it in place.
func openOutput(path string, stdout io.Writer) (io.Writer, func(ok bool) error, error) {
	if path == "" || path == "-" {
		return stdout, func(bool) error { return nil }, nil
	}
	r, err := createReport(path)
	if err != nil {
		return nil, nil, err
	}
	return r, func(ok bool) error {
		if !ok {
			r.abort()
			return nil
		}
		return r.commit()
	}, nil
}
