package fakeprovider

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
)

// The files API of OpenAI (/v1/files) and Azure OpenAI (/openai/files,
// /openai/v1/files), as the OpenAI API reference documents it: multipart
// upload with "file" and "purpose", list (optionally by purpose), retrieve,
// content download and delete. Files live in the Server's memory.

// storedFile is one uploaded file.
type storedFile struct {
	ID        string  `json:"id"`
	Object    string  `json:"object"`
	Bytes     int     `json:"bytes"`
	CreatedAt int64   `json:"created_at"`
	ExpiresAt *int64  `json:"expires_at"`
	Filename  string  `json:"filename"`
	Purpose   string  `json:"purpose"`
	Status    string  `json:"status"`
	Details   *string `json:"status_details"`
	content   []byte
}

// Files returns the contents of the files uploaded so far, by file ID.
func (s *Server) Files() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(s.files))
	for id, f := range s.files {
		out[id] = bytes.Clone(f.content)
	}
	return out
}

// files serves rest, the path below the API root ("files", "files/{id}",
// "files/{id}/content").
func (x *exchange) files(rest string) {
	s := x.s
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case len(parts) == 1 && x.r.Method == http.MethodPost:
		x.uploadFile()
	case len(parts) == 1 && x.r.Method == http.MethodGet:
		purpose := x.r.URL.Query().Get("purpose")
		s.mu.Lock()
		data := []*storedFile{}
		for _, f := range s.files {
			if purpose == "" || f.Purpose == purpose {
				data = append(data, f)
			}
		}
		s.mu.Unlock()
		list := map[string]any{"object": "list", "data": data, "has_more": false, "first_id": nil, "last_id": nil}
		if len(data) > 0 {
			list["first_id"], list["last_id"] = data[0].ID, data[len(data)-1].ID
		}
		x.writeJSON(http.StatusOK, nil, list)
	case len(parts) == 2 || len(parts) == 3 && parts[2] == "content":
		s.mu.Lock()
		f, ok := s.files[parts[1]]
		if ok && x.r.Method == http.MethodDelete && len(parts) == 2 {
			delete(s.files, parts[1])
		}
		s.mu.Unlock()
		switch {
		case !ok:
			x.openAIError(http.StatusNotFound, "No such File object: "+parts[1], "invalid_request_error", "id", "")
		case len(parts) == 3 && x.r.Method == http.MethodGet:
			x.w.Header().Set("Content-Type", "application/octet-stream")
			x.w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", f.Filename))
			x.w.WriteHeader(http.StatusOK)
			x.w.Write(f.content)
		case len(parts) == 2 && x.r.Method == http.MethodGet:
			x.writeJSON(http.StatusOK, nil, f)
		case len(parts) == 2 && x.r.Method == http.MethodDelete:
			x.writeJSON(http.StatusOK, nil, map[string]any{"id": f.ID, "object": "file", "deleted": true})
		default:
			x.openAIError(http.StatusNotFound, fmt.Sprintf("Invalid URL (%s %s)", x.r.Method, x.r.URL.Path), "invalid_request_error", "", "")
		}
	default:
		x.openAIError(http.StatusNotFound, fmt.Sprintf("Invalid URL (%s %s)", x.r.Method, x.r.URL.Path), "invalid_request_error", "", "")
	}
}

func (x *exchange) uploadFile() {
	mt, params, err := mime.ParseMediaType(x.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		x.openAIError(http.StatusBadRequest, "Invalid file format. Expected a multipart/form-data upload.", "invalid_request_error", "file", "")
		return
	}
	mr := multipart.NewReader(bytes.NewReader(x.body), params["boundary"])
	f := &storedFile{Object: "file", Status: "processed", CreatedAt: time.Now().Unix()}
	var haveFile bool
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			x.openAIError(http.StatusBadRequest, "Could not parse multipart form", "invalid_request_error", "", "")
			return
		}
		data, _ := io.ReadAll(p)
		switch p.FormName() {
		case "purpose":
			f.Purpose = string(data)
		case "file":
			f.Filename, f.content, f.Bytes, haveFile = p.FileName(), data, len(data), true
		}
	}
	switch {
	case f.Purpose == "":
		x.openAIError(http.StatusBadRequest, "Missing required parameter: 'purpose'.", "invalid_request_error", "purpose", "missing_required_parameter")
		return
	case !haveFile:
		x.openAIError(http.StatusBadRequest, "Missing required parameter: 'file'.", "invalid_request_error", "file", "missing_required_parameter")
		return
	}
	var id [12]byte
	rand.Read(id[:])
	f.ID = "file-" + hex.EncodeToString(id[:])
	x.s.mu.Lock()
	if x.s.files == nil {
		x.s.files = map[string]*storedFile{}
	}
	x.s.files[f.ID] = f
	x.s.mu.Unlock()
	x.writeJSON(http.StatusOK, nil, f)
}
