// Package fdpass lets a client on the same machine hand the daemon an open
// file to write into, so that a download crosses no socket a second time:
// `myconet get -o FILE` opens FILE itself (with its own user's rights),
// sends the descriptor over the daemon's Unix socket (<home>/api.sock) with
// SCM_RIGHTS along with the first bytes of its HTTP request, and the daemon
// writes the file while the package arrives.
//
// Listen wraps a Unix listener whose connections keep the descriptors that
// arrive with their bytes; the HTTP server puts each connection in its
// requests' contexts (ConnContext) and a handler takes the file with
// FromContext. Dial is the client's side. FileWriter writes a received file
// sequentially, around the page cache where the file system allows it.
//
// Only Linux passes descriptors (Supported); elsewhere Listen and Dial fail
// and the client streams the file over HTTP as before.
package fdpass
