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
	return nil, outputError(path, err)
}

// outputError names path in err, without the path of a *fs.PathError
// (which may be the temporary file's).
func outputError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("output %s: %w", path, err)
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
// the file, with ok true it puts it in place (a device or a pipe is
// written as the report goes and only closed).
func openOutput(path string, stdout io.Writer) (io.Writer, func(ok bool) error, error) {
	if path == "" || path == "-" {
		return stdout, func(bool) error { return nil }, nil
	}
	// A path that names a device, a pipe or a socket (-o /dev/null,
	// /dev/stdout, a FIFO) is written in place: renaming a temporary file
	// over it would replace the device with a plain file (as root,
	// /dev/null itself). A symbolic link is followed, so that the file it
	// points at gets the report and the link stays.
	target := path
	if t, err := filepath.EvalSymlinks(path); err == nil {
		target = t
	}
	if fi, err := os.Stat(target); err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return nil, nil, outputError(path, errors.New("is a directory"))
		}
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return nil, nil, outputError(path, err)
		}
		return f, func(bool) error {
			if err := f.Close(); err != nil {
				return outputError(path, err)
			}
			return nil
		}, nil
	}
	r, err := createReport(target)
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
