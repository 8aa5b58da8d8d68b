package checks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"regexp"

	"github.com/jlaffaye/ftp"
)

// checkFTP logs in (anonymous with password ldirectord@<hostname> unless
// login and passwd say otherwise), changes to /, fetches the request in
// binary passive mode and is up when the file matches receive, as
// ldirectord's Net::FTP check. An empty receive asks only that the file
// could be fetched. Without a request it is down and does not connect:
// ldirectord then fetches "/", which no FTP server gives as a file.
func checkFTP(ctx context.Context, t Target) Result {
	if t.Check.Request == "" {
		return down("no request names the file to fetch")
	}
	receive, err := regexp.Compile(t.Check.Receive)
	if err != nil {
		return down(fmt.Sprintf("receive %q is not a valid regexp: %v", t.Check.Receive, err))
	}
	login, passwd := t.Check.Login, t.Check.Passwd
	if login == "" {
		login = "anonymous"
	}
	if passwd == "" {
		passwd = "ldirectord@" + hostname()
	}
	conn, err := ftp.Dial(hostPort(t), ftp.DialWithDialFunc(func(network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return limit(c, maxBody), nil
	}))
	if err != nil {
		return ftpFailure(ctx, t, "banner", err)
	}
	defer conn.Quit()
	if err := conn.Login(login, passwd); err != nil {
		// The password stays out of the reason: it may be a real one.
		return ftpFailure(ctx, t, "login as "+login, err)
	}
	_ = conn.ChangeDir("/") // ldirectord goes on when this fails
	resp, err := conn.Retr(t.Check.Request)
	if err != nil {
		return ftpFailure(ctx, t, "RETR "+t.Check.Request, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp, maxBody))
	_ = resp.Close()
	if err != nil {
		return ftpFailure(ctx, t, "reading "+t.Check.Request, err)
	}
	if t.Check.Receive != "" && !perlMatch(receive, body) {
		return down(fmt.Sprintf("receive /%s/ not found in %d bytes of %s", t.Check.Receive, len(body), t.Check.Request))
	}
	return up(fmt.Sprintf("fetched %d bytes of %s", len(body), t.Check.Request))
}

func ftpFailure(ctx context.Context, t Target, what string, err error) Result {
	var te *textproto.Error
	if errors.As(err, &te) {
		return down(fmt.Sprintf("%s: %d %s", what, te.Code, quote([]byte(te.Msg))))
	}
	var pe textproto.ProtocolError
	if errors.As(err, &pe) {
		return down(fmt.Sprintf("%s: not FTP: %s", what, quote([]byte(pe))))
	}
	var op *net.OpError
	if isTimeout(ctx, err) || errors.As(err, &op) {
		return failure(ctx, t, "waiting for "+what, err)
	}
	return down(fmt.Sprintf("%s: %s", what, short(err)))
}

// hostname is the name ldirectord puts in its default FTP password and SIP
// addresses: $HOSTNAME, else the kernel's node name, else localhost.
func hostname() string {
	if h := os.Getenv("HOSTNAME"); h != "" {
		return h
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}
