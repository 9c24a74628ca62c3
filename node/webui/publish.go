package webui

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/node/apitype"
)

// publishForm is the publish page: the metadata form, with a message per
// field that is wrong.
type publishForm struct {
	Title, Description, Tags, Kind, Language, License, Authors, Entry string
	Kinds                                                             []string
	Errors                                                            map[string]string
	Error                                                             string
}

const (
	maxUploadFiles = 100_000
	maxFieldBytes  = 16 << 10
	maxUploadPath  = 4096
)

func (u *UI) publishPage(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "publish", publishForm{Kinds: metadata.Kinds(), Errors: map[string]string{}})
}

// publish receives a multipart upload (the CSRF token first, then the form
// fields and the files, each named by its path relative to the chosen
// folder), stages it in a temporary directory on the node's machine, adds it
// through the API and opens the new package's page.
func (u *UI) publish(w http.ResponseWriter, r *http.Request) {
	f := publishForm{Kinds: metadata.Kinds(), Errors: map[string]string{}}
	limit, why := u.opt.MaxUpload, "the upload is larger than "+apitype.FormatSize(u.opt.MaxUpload)
	if q, err := u.api.Quota(r.Context()); err == nil && q.Disk > 0 && q.Disk-q.DiskUsed < limit {
		// Staged on the node's disk first: never more than the store may still take.
		limit = max(0, q.Disk-q.DiskUsed)
		why = "the upload is larger than the disk quota has room for (" + apitype.FormatSize(limit) + " free of " + apitype.FormatSize(q.Disk) + ")"
	}
	r.Body = http.MaxBytesReader(w, r.Body, u.opt.MaxUpload+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, "publish: want a multipart/form-data upload", http.StatusBadRequest)
		return
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != csrfField {
		http.Error(w, "forbidden: missing or wrong CSRF token (reload the page)", http.StatusForbidden)
		return
	}
	tok, _ := io.ReadAll(io.LimitReader(part, 256))
	if !validCSRF(sessionOf(r), string(tok)) {
		http.Error(w, "forbidden: missing or wrong CSRF token (reload the page)", http.StatusForbidden)
		return
	}

	dir, err := os.MkdirTemp(u.opt.TempDir, stagingPrefix)
	if err != nil {
		u.fail(w, r, http.StatusInternalServerError, fmt.Errorf("publish: staging area: %w", err))
		return
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "upload")
	files, uploadErr := u.receive(mr, root, limit, &f)
	switch {
	case uploadErr != nil:
		var mbe *http.MaxBytesError
		if errors.As(uploadErr, &mbe) || errors.Is(uploadErr, errTooBig) {
			f.Errors["files"] = why
		} else {
			f.Errors["files"] = uploadErr.Error()
		}
	case files == 0:
		f.Errors["files"] = "choose files or a folder to publish"
	}
	for k, v := range validateMeta(f) {
		f.Errors[k] = v
	}
	if len(f.Errors) > 0 {
		w.WriteHeader(http.StatusUnprocessableEntity)
		u.render(w, r, "publish", f)
		return
	}

	src, err := addSource(root)
	if err != nil {
		f.Errors["files"] = err.Error()
		w.WriteHeader(http.StatusUnprocessableEntity)
		u.render(w, r, "publish", f)
		return
	}
	req := apitype.AddRequest{
		Path: src, Title: strings.TrimSpace(f.Title), Description: strings.TrimSpace(f.Description),
		Tags: splitList(f.Tags), Kind: f.Kind, Language: strings.TrimSpace(f.Language),
		License: strings.TrimSpace(f.License), Authors: splitList(f.Authors), Entry: strings.Trim(strings.TrimSpace(f.Entry), "/"),
	}
	res, err := u.api.Add(r.Context(), req, nil)
	if err != nil {
		if field, reason, ok := fieldOf(err); ok {
			f.Errors[field] = reason
		} else {
			f.Error = errorMsg(err)
		}
		w.WriteHeader(statusOf(err))
		u.render(w, r, "publish", f)
		return
	}
	u.noteActivity("published", req.Title, res.Package)
	http.Redirect(w, r, "/ui/package/"+res.Package, http.StatusSeeOther)
}

// receive reads the form fields into f and writes the files under root. It
// returns how many files it wrote.
func (u *UI) receive(mr *multipart.Reader, root string, limit int64, f *publishForm) (int, error) {
	fields := map[string]*string{
		"title": &f.Title, "description": &f.Description, "tags": &f.Tags, "kind": &f.Kind,
		"language": &f.Language, "license": &f.License, "authors": &f.Authors, "entry": &f.Entry,
	}
	files := 0
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return files, err
		}
		name := rawFileName(part.Header.Get("Content-Disposition"))
		if name == "" {
			if dst, ok := fields[part.FormName()]; ok {
				b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
				if err != nil {
					return files, err
				}
				if len(b) > maxFieldBytes {
					f.Errors[part.FormName()] = fmt.Sprintf("longer than %d bytes", maxFieldBytes)
				}
				*dst = string(b)
			}
			continue
		}
		rel, err := uploadPath(name)
		if err != nil {
			return files, err
		}
		if seen[rel] {
			return files, fmt.Errorf("%q is uploaded twice", rel)
		}
		seen[rel] = true
		if files++; files > maxUploadFiles {
			return files, fmt.Errorf("more than %d files", maxUploadFiles)
		}
		dst := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return files, fmt.Errorf("%q: %v (a file and a folder with one name?)", rel, err)
		}
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return files, fmt.Errorf("%q: %v (a file and a folder with one name?)", rel, err)
		}
		n, err := io.Copy(out, io.LimitReader(part, limit+1))
		if limit -= n; err == nil && limit < 0 {
			err = errTooBig
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return files, err
		}
	}
}

// errTooBig: the files are larger than the upload may be.
var errTooBig = errors.New("upload too large")

// rawFileName returns the filename parameter of a part's
// Content-Disposition as sent: with the folder path a browser gives files of
// a chosen folder (multipart.Part.FileName keeps only the last element).
func rawFileName(cd string) string {
	_, params, err := mime.ParseMediaType(cd)
	if err != nil {
		return ""
	}
	return params["filename"]
}

// uploadPath checks a file's relative path from the browser: slash
// separated, no empty, "." or ".." segments, no control characters.
func uploadPath(name string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("file name %s: %s", quote(name), why)
	}
	if len(name) > maxUploadPath {
		return bad("too long")
	}
	for _, c := range name {
		if unicode.IsControl(c) || c == '\\' {
			return bad("has a control character or a backslash")
		}
	}
	segs := strings.Split(strings.TrimPrefix(name, "/"), "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return bad("is not a clean relative path")
		}
	}
	return strings.Join(segs, "/"), nil
}

// addSource is what Add imports from an upload staged under root: the one
// file, or the one folder the person chose, or root holding all the files.
func addSource(root string) (string, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return "", err
	}
	if len(ents) == 1 {
		return filepath.Join(root, ents[0].Name()), nil
	}
	return root, nil
}

// validateMeta checks each field of the form on its own, so every wrong
// field gets its message at once.
func validateMeta(f publishForm) map[string]string {
	errs := map[string]string{}
	check := func(field string, set func(m *metadata.Meta)) {
		m := metadata.Meta{Title: "x"}
		set(&m)
		var fe *metadata.FieldError
		if err := m.Validate(); errors.As(err, &fe) {
			errs[field] = fe.Reason
		}
	}
	check("title", func(m *metadata.Meta) { m.Title = strings.TrimSpace(f.Title) })
	check("description", func(m *metadata.Meta) { m.Description = strings.TrimSpace(f.Description) })
	check("tags", func(m *metadata.Meta) { m.Tags = splitList(f.Tags) })
	check("kind", func(m *metadata.Meta) { m.Kind = f.Kind })
	check("language", func(m *metadata.Meta) { m.Language = strings.TrimSpace(f.Language) })
	check("license", func(m *metadata.Meta) { m.License = strings.TrimSpace(f.License) })
	check("authors", func(m *metadata.Meta) { m.Authors = splitList(f.Authors) })
	check("entry", func(m *metadata.Meta) { m.Entry = strings.Trim(strings.TrimSpace(f.Entry), "/") })
	return errs
}

// fieldOf finds the metadata field an API error names ("… metadata: <field>: <reason>").
func fieldOf(err error) (field, reason string, ok bool) {
	msg := err.Error()
	i := strings.Index(msg, "metadata: ")
	if i < 0 {
		return "", "", false
	}
	field, reason, ok = strings.Cut(msg[i+len("metadata: "):], ": ")
	switch field {
	case "title", "description", "tags", "kind", "language", "license", "authors", "entry":
		return field, reason, ok
	}
	return "", "", false
}

// stagingPrefix names the directories uploads are staged in.
const stagingPrefix = "myconet-upload-"

// cleanStaging removes staging directories a crash left in dir.
func cleanStaging(dir string, log *slog.Logger) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), stagingPrefix) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				log.Warn("cannot remove an old upload", "dir", e.Name(), "err", err)
			}
		}
	}
}
