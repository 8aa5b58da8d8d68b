package checks

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Debian packages no Oracle server and nothing can be downloaded, so the
// oracle check is proven against oracleDB, a scripted server that speaks
// the wire protocol of an Oracle Database 19c as far as go-ora needs to log
// in and run one query:
//
//   - TNS 315 (the 12c packet format, 4-byte lengths after the handshake):
//     CONNECT, then ACCEPT, or REFUSE with ORA-12505 for another SID. The
//     ACCEPT turns advanced negotiation (native encryption and integrity)
//     off, so that the scripted server need not speak it; a real server
//     negotiates, and with default settings then uses neither.
//   - TTC protocol and data type negotiation, answered with the database
//     time zone so that the client asks no more.
//   - O5LOGON with the 12c verifier (type 0x4815, PBKDF2-SHA512): the
//     server keeps only the verifier, never the passwd; it sends
//     AUTH_SESSKEY encrypted with the verifier, decrypts the client's
//     AUTH_SESSKEY, derives the combined key, decrypts AUTH_PASSWORD and
//     checks it against the verifier. A wrong passwd or an unknown user
//     gets ORA-01017, as from Oracle, after the same phase one. Success
//     answers with AUTH_SVR_RESPONSE and the session's properties.
//   - The query it is scripted for, parsed, executed and fetched in one
//     round trip: a describe of one VARCHAR2 column, the rows, and
//     ORA-01403 for the end of the fetch. Any other statement gets
//     ORA-00942; go-ora asks for SYSTIMESTAMP after logon and falls back to
//     UTC when that fails.
//   - Cursor close, logoff and the final EOF packet.
//
// A real server may precede an error with break and reset markers; this
// one sends errors straight in a data packet, which go-ora reads the same.
type oracleDB struct {
	t        *testing.T
	sid      string
	user     string
	salt     []byte // AUTH_VFR_DATA
	verifier []byte // the AES key derived from the passwd and salt
	query    string // the one statement the server answers
	column   string
	rows     []string
	// hangAt names the request at which the server stops answering:
	// "version", right after logon; "other query", at the query go-ora
	// sends of its own after logon; "query", at the check's query.
	hangAt string

	mu       sync.Mutex
	requests []string // the names of the requests answered, in order
}

const (
	oracleVerifier12c = 0x4815 // 18453: PBKDF2-SHA512 verifier of Oracle 12c and later
	oracleVGenCount   = 4096   // PBKDF2 rounds of the verifier
	oracleSDerCount   = 3      // PBKDF2 rounds of the combined session key
	oracleCharset     = 873    // AL32UTF8
	oracleNCharset    = 2000   // AL16UTF16
	oracleSessionID   = 42
	oracleSerial      = 7
)

// newOracleDB is a database with SID sid and one account, user with passwd,
// that answers query with one column of rows.
func newOracleDB(t *testing.T, sid, user, passwd, query string, rows ...string) *oracleDB {
	salt := randomBytes(16)
	return &oracleDB{t: t, sid: sid, user: user, salt: salt, verifier: verifier12c(passwd, salt),
		query: query, column: "ENABLED", rows: rows}
}

// verifier12c is the key that Oracle 12c derives from a passwd and stores
// (with the salt) instead of the passwd: SHA-512 of the PBKDF2 "speedy
// key" and the salt, cut to an AES-256 key.
func verifier12c(passwd string, salt []byte) []byte {
	speedy, err := pbkdf2.Key(sha512.New, passwd, append(bytes.Clone(salt), "AUTH_PBKDF2_SPEEDY_KEY"...), oracleVGenCount, 64)
	if err != nil {
		panic(err)
	}
	h := sha512.Sum512(append(speedy, salt...))
	return h[:32]
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// serve speaks to one client until it logs off, closes or breaks the
// protocol.
func (db *oracleDB) serve(c net.Conn) {
	if !db.handshake(c) {
		return
	}
	var s oracleSession
	for {
		pkt, err := readTNS(c, true)
		if err != nil || pkt[4] != 6 || len(pkt) < 10 {
			// A marker (a break) or anything but DATA ends the session.
			return
		}
		if binary.BigEndian.Uint16(pkt[8:])&0x40 != 0 { // the client's EOF
			return
		}
		answer, name, err := db.answer(&s, pkt[10:])
		if err != nil {
			db.t.Errorf("oracle server: %v", err)
			return
		}
		if name == db.hangAt {
			_, _ = io.Copy(io.Discard, c)
			return
		}
		db.mu.Lock()
		db.requests = append(db.requests, name)
		db.mu.Unlock()
		if err := writeTNSData(c, answer); err != nil {
			return
		}
	}
}

// handshake reads the CONNECT and its connect data and accepts the
// connection when the data names the server's SID.
func (db *oracleDB) handshake(c net.Conn) bool {
	pkt, err := readTNS(c, false)
	if err != nil || pkt[4] != 1 || len(pkt) < 34 {
		db.t.Errorf("oracle server: first packet %x, %v; want a TNS CONNECT", pkt, err)
		return false
	}
	n, off := int(binary.BigEndian.Uint16(pkt[24:])), int(binary.BigEndian.Uint16(pkt[26:]))
	var data []byte
	if off+n <= len(pkt) && len(pkt) > off {
		data = pkt[off : off+n]
	} else {
		// go-ora sends connect data longer than 230 bytes in a DATA
		// packet of its own.
		next, err := readTNS(c, false)
		if err != nil || next[4] != 6 || len(next) < 10 {
			db.t.Errorf("oracle server: connect data: packet %x, %v", next, err)
			return false
		}
		data = next[10:]
	}
	m := regexp.MustCompile(`\(SID=([^)]*)\)`).FindSubmatch(data)
	if m == nil || !strings.EqualFold(string(m[1]), db.sid) {
		_, _ = c.Write(tnsRefuse("(DESCRIPTION=(TMP=)(VSNNUM=318767104)(ERR=12505)(ERROR_STACK=(ERROR=(CODE=12505)(EMFI=4))))"))
		return false
	}
	accept := make([]byte, 40)
	binary.BigEndian.PutUint16(accept[0:], uint16(len(accept)))
	accept[4] = 2                                  // ACCEPT
	binary.BigEndian.PutUint16(accept[8:], 315)    // TNS version
	binary.BigEndian.PutUint16(accept[10:], 0x801) // options, no out-of-band breaks
	binary.BigEndian.PutUint16(accept[12:], 8192)  // SDU
	binary.BigEndian.PutUint16(accept[14:], 0xffff)
	binary.BigEndian.PutUint16(accept[16:], 1)
	binary.BigEndian.PutUint16(accept[20:], uint16(len(accept))) // no accept data
	accept[22] = 4                                               // advanced negotiation disabled
	binary.BigEndian.PutUint32(accept[32:], 8192)
	binary.BigEndian.PutUint32(accept[36:], 0xffff)
	_, err = c.Write(accept)
	return err == nil
}

// oracleSession is what the server remembers between the two phases of a
// logon.
type oracleSession struct {
	user      string
	serverKey []byte // the server's half of the session key
	cskSalt   []byte // AUTH_PBKDF2_CSK_SALT
	salt      []byte
	verifier  []byte
	loggedOn  bool
}

// answer is the server's reply to one client request, and the request's
// name. With the 8 KiB SDU every request of go-ora fits one packet.
func (db *oracleDB) answer(s *oracleSession, req []byte) ([]byte, string, error) {
	switch {
	case len(req) < 2:
		return nil, "", fmt.Errorf("request of %d bytes", len(req))
	case req[0] == 1:
		return oracleProtocol(), "protocol", nil
	case req[0] == 2:
		return oracleDataTypes(), "data types", nil
	case req[0] == 0x11: // piggybacked cursor close, then a ping
		return oracleSummary(0, 0, 0, ""), "close", nil
	case req[0] != 3:
		return nil, "", fmt.Errorf("message type %d", req[0])
	}
	if !s.loggedOn && req[1] != 0x76 && req[1] != 0x73 {
		return nil, "", fmt.Errorf("function %#x before logon", req[1])
	}
	switch req[1] {
	case 0x76:
		out, err := db.logonPhaseOne(s, req)
		return out, "logon 1", err
	case 0x73:
		out, err := db.logonPhaseTwo(s, req)
		return out, "logon 2", err
	case 0x3b:
		return oracleVersion(), "version", nil
	case 0x5e:
		out, ok := db.execute(req)
		if !ok {
			return out, "other query", nil
		}
		return out, "query", nil
	case 0x09:
		return oracleSummary(0, 0, 0, ""), "logoff", nil
	case 0x93:
		return oracleSummary(0, 0, 0, ""), "ping", nil
	}
	return nil, "", fmt.Errorf("function %#x", req[1])
}

// oracleProtocol answers the TTC protocol negotiation as a Linux server
// of TTC version 11 with the O5LOGON 12c combined key (capability 4, bit
// 32).
func oracleProtocol() []byte {
	var b ttcWriter
	b.WriteByte(1) // protocol message
	b.WriteByte(6) // server protocol version
	b.WriteByte(0)
	b.WriteString("x86_64/Linux 2.4.xx\x00")
	b.Write(binary.LittleEndian.AppendUint16(nil, oracleCharset))
	b.WriteByte(1) // server flags
	b.Write([]byte{0, 0})
	fdo := make([]byte, 11) // the national charset is at 9
	binary.BigEndian.PutUint16(fdo[9:], oracleNCharset)
	b.Write(binary.BigEndian.AppendUint16(nil, uint16(len(fdo))))
	b.Write(fdo)
	compile := make([]byte, 32)
	compile[4], compile[7] = 32, 11
	b.WriteByte(byte(len(compile)))
	b.Write(compile)
	runtime := []byte{2, 1, 0, 0, 0, 0, 0} // 1 at 1: the time zone comes with the data types
	b.WriteByte(byte(len(runtime)))
	b.Write(runtime)
	return b.Bytes()
}

// oracleDataTypes answers the data type negotiation with the database
// time zone (UTC) and no data type of the server's own.
func oracleDataTypes() []byte {
	return []byte{2, 128, 0, 0, 0, 60, 60, 60, 128, 0, 0, 0, 0}
}

// oracleVersion answers the version request as Oracle 19.3.
func oracleVersion() []byte {
	var b ttcWriter
	banner := "Oracle Database 19c Enterprise Edition Release 19.0.0.0.0 - Production"
	b.WriteByte(8)
	b.ub(uint64(len(banner)))
	b.clr([]byte(banner))
	b.ub(19<<24 | 3<<20)
	return b.Bytes()
}

// logonPhaseOne answers the client's user name with the server's half of
// the session key, encrypted with the verifier, and the verifier's salt
// and parameters. An unknown user gets a verifier nobody knows, so that
// the answer does not tell which users exist; the logon fails in phase two.
func (db *oracleDB) logonPhaseOne(s *oracleSession, req []byte) ([]byte, error) {
	user, _, err := parseOracleAuth(req)
	if err != nil {
		return nil, fmt.Errorf("logon phase one: %w", err)
	}
	s.user, s.salt, s.verifier = user, db.salt, db.verifier
	if !strings.EqualFold(user, db.user) {
		s.salt, s.verifier = randomBytes(16), randomBytes(32)
	}
	s.serverKey, s.cskSalt = randomBytes(32), randomBytes(16)
	var b ttcWriter
	b.WriteByte(8)
	b.ub(5)
	b.keyval("AUTH_SESSKEY", upperHex(aesEncrypt(s.verifier, s.serverKey, false)), 0)
	b.keyval("AUTH_VFR_DATA", upperHex(s.salt), oracleVerifier12c)
	b.keyval("AUTH_PBKDF2_CSK_SALT", upperHex(s.cskSalt), 0)
	b.keyval("AUTH_PBKDF2_VGEN_COUNT", strconv.Itoa(oracleVGenCount), 0)
	b.keyval("AUTH_PBKDF2_SDER_COUNT", strconv.Itoa(oracleSDerCount), 0)
	b.Write(oracleSummary(0, 0, 0, ""))
	return b.Bytes(), nil
}

// logonPhaseTwo checks the client's encrypted passwd and answers with the
// session's properties, or with ORA-01017.
func (db *oracleDB) logonPhaseTwo(s *oracleSession, req []byte) ([]byte, error) {
	user, kv, err := parseOracleAuth(req)
	if err != nil {
		return nil, fmt.Errorf("logon phase two: %w", err)
	}
	combined, ok := s.checkPassword(kv)
	if !ok || !strings.EqualFold(user, s.user) {
		return oracleSummary(1017, 0, 0, "ORA-01017: invalid username/password; logon denied\n"), nil
	}
	s.loggedOn = true
	var b ttcWriter
	props := [][2]string{
		{"AUTH_VERSION_STRING", "- Production"},
		{"AUTH_VERSION_SQL", "13"},
		{"AUTH_VERSION_NO", strconv.Itoa(19<<24 | 3<<20)},
		{"AUTH_SESSION_ID", strconv.Itoa(oracleSessionID)},
		{"AUTH_SERIAL_NUM", strconv.Itoa(oracleSerial)},
		{"AUTH_SVR_RESPONSE", upperHex(aesEncrypt(combined, append(randomBytes(16), "SERVER_TO_CLIENT"...), true))},
		{"AUTH_SC_INSTANCE_NAME", strings.ToLower(db.sid)},
		{"AUTH_SC_DBUNIQUE_NAME", db.sid},
	}
	b.WriteByte(8)
	b.ub(uint64(len(props)))
	for _, p := range props {
		b.keyval(p[0], p[1], 0)
	}
	// The session's NLS settings, which go-ora would otherwise ask for
	// with a PL/SQL block.
	nls := [][2]string{{"AUTH_NLS_LXLAN", "AMERICAN"}, {"AUTH_NLS_LXCTERRITORY", "AMERICA"}, {"SESSION_NLS_LXCCHARSET", "AL32UTF8"}}
	b.WriteByte(23) // server side piggyback
	b.WriteByte(4)  // session return values
	b.ub(0)
	b.WriteByte(0)
	b.ub(uint64(len(nls)))
	for _, p := range nls {
		b.keyval(p[0], p[1], 0)
	}
	b.ub(0)
	b.ub(oracleSessionID)
	b.ub(oracleSerial)
	b.Write(oracleSummary(0, 0, 0, ""))
	return b.Bytes(), nil
}

// checkPassword decrypts the client's half of the session key with the
// verifier, derives the combined key from both halves, decrypts
// AUTH_PASSWORD with it and derives the verifier from what it holds. The
// combined key is returned for AUTH_SVR_RESPONSE.
func (s *oracleSession) checkPassword(kv map[string]string) ([]byte, bool) {
	if s.serverKey == nil {
		return nil, false
	}
	eClient, err := hex.DecodeString(kv["AUTH_SESSKEY"])
	if err != nil || len(eClient) != len(s.serverKey) {
		return nil, false
	}
	clientKey := aesDecrypt(s.verifier, eClient)
	both := upperHex(append(clientKey, s.serverKey...))
	combined, err := pbkdf2.Key(sha512.New, both, s.cskSalt, oracleSDerCount, 32)
	if err != nil {
		return nil, false
	}
	ePass, err := hex.DecodeString(kv["AUTH_PASSWORD"])
	if err != nil || len(ePass) < 32 || len(ePass)%aes.BlockSize != 0 {
		return nil, false
	}
	plain, ok := unpad(aesDecrypt(combined, ePass))
	if !ok || len(plain) < 16 {
		return nil, false
	}
	// 16 random bytes come before the passwd.
	got := verifier12c(string(plain[16:]), s.salt)
	return combined, subtle.ConstantTimeCompare(got, s.verifier) == 1
}

// execute answers a parse, execute and fetch of the scripted query with
// its column, all its rows and ORA-01403, the end of the fetch, and says
// whether the request was that query.
func (db *oracleDB) execute(req []byte) ([]byte, bool) {
	var text ttcWriter
	text.clr([]byte(db.query))
	if !bytes.Contains(req, text.Bytes()) {
		return oracleSummary(942, 0, 0, "ORA-00942: table or view does not exist\n"), false
	}
	const width, cursor = 100, 3
	var b ttcWriter
	b.WriteByte(16) // describe information
	b.WriteByte(0)
	b.ub(width) // longest row
	b.ub(1)     // columns
	b.WriteByte(0)
	b.WriteByte(1) // VARCHAR2
	b.Write([]byte{0, 0, 0})
	b.ub(width) // bytes
	b.ub(0)     // not an array
	b.ub(0)     // continuation flags
	b.ub(0)     // no type OID
	b.ub(0)     // version
	b.ub(oracleCharset)
	b.WriteByte(1) // implicit charset form
	b.ub(width)    // characters
	b.ub(0)        // collation
	b.WriteByte(1) // nullable
	b.WriteByte(0)
	b.dlc(db.column)
	b.dlc("") // schema
	b.dlc("") // type name
	b.ub(0)   // column position
	b.ub(0)   // user defined type flags
	b.dlc("")
	b.Write([]byte{0, 0, 0, 0})
	b.dlc("")
	if len(db.rows) > 0 {
		b.WriteByte(6) // row header
		b.WriteByte(0)
		b.ub(1)
		b.ub(0)
		b.ub(0)
		b.ub(0)
		b.dlc("") // no bit vector: every column is sent
		b.dlc("")
	}
	for _, row := range db.rows {
		b.WriteByte(7) // row data
		b.clr([]byte(row))
	}
	b.Write(oracleSummary(1403, cursor, len(db.rows), "ORA-01403: no data found\n"))
	return b.Bytes(), true
}

// answered is the names of the requests the server has answered.
func (db *oracleDB) answered() []string {
	db.mu.Lock()
	defer db.mu.Unlock()
	return slices.Clone(db.requests)
}

// oracleSummary is the end of a call (TTC message 4) with the return code
// ret, its message, the cursor and the rows processed, as read by a client
// of TTC version 11.
func oracleSummary(ret, cursor, rows int, msg string) []byte {
	var b ttcWriter
	b.WriteByte(4)
	b.ub(uint64(rows))
	b.ub(uint64(ret))
	b.ub(0) // array element with error
	b.ub(0) // its error
	b.ub(uint64(cursor))
	b.ub(0)                  // error position
	b.Write([]byte{0, 0})    // SQL type, fatal
	b.ub(0)                  // flags
	b.ub(0)                  // user cursor options
	b.Write([]byte{0, 0})    // UPI parameter, warning
	b.ub(0)                  // rowid: block address
	b.ub(0)                  // partition
	b.WriteByte(0)           // table
	b.ub(0)                  // block
	b.ub(0)                  // slot
	b.ub(0)                  // OS error
	b.Write([]byte{0, 0})    // statement, call number
	b.ub(0)                  // padding
	b.ub(0)                  // successful iterations
	b.ub(0)                  // no message parameters
	b.Write([]byte{0, 0, 0}) // no bind errors
	b.ub(uint64(ret))        // extended return code
	b.ub(uint64(rows))       // extended row count
	if ret != 0 {
		b.clr([]byte(msg))
	}
	return b.Bytes()
}

// parseOracleAuth reads the user and the key-value pairs of a logon
// request (functions 0x76 and 0x73 share the layout).
func parseOracleAuth(req []byte) (string, map[string]string, error) {
	r := ttcReader{b: req[3:]}
	hasUser := r.byte()
	r.ub() // user length
	r.ub() // logon mode
	r.byte()
	pairs := r.ub()
	r.byte()
	r.byte()
	var user string
	if hasUser == 1 {
		user = string(r.clr())
	}
	kv := map[string]string{}
	for i := uint64(0); i < pairs && r.err == nil; i++ {
		k, v := r.dlc(), r.dlc()
		r.ub()
		kv[string(k)] = string(v)
	}
	return user, kv, r.err
}

// readTNS reads one TNS packet; wide says whether its length takes four
// bytes, as after a handshake of version 315 or later.
func readTNS(c net.Conn, wide bool) ([]byte, error) {
	head := make([]byte, 8)
	if _, err := io.ReadFull(c, head); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(head))
	if wide {
		n = int(binary.BigEndian.Uint32(head))
	}
	if n < len(head) || n > 1<<20 {
		return nil, fmt.Errorf("TNS packet of %d bytes", n)
	}
	pkt := append(head, make([]byte, n-len(head))...)
	_, err := io.ReadFull(c, pkt[len(head):])
	return pkt, err
}

// writeTNSData sends payload in one DATA packet.
func writeTNSData(c net.Conn, payload []byte) error {
	pkt := make([]byte, 10, 10+len(payload))
	binary.BigEndian.PutUint32(pkt, uint32(cap(pkt)))
	pkt[4] = 6
	_, err := c.Write(append(pkt, payload...))
	return err
}

func upperHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// aesEncrypt is AES-CBC with a zero IV, as O5LOGON uses it, with PKCS#7
// padding or none (then plain is whole blocks).
func aesEncrypt(key, plain []byte, pad bool) []byte {
	blk, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	if pad {
		n := aes.BlockSize - len(plain)%aes.BlockSize
		plain = append(bytes.Clone(plain), bytes.Repeat([]byte{byte(n)}, n)...)
	}
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(blk, make([]byte, aes.BlockSize)).CryptBlocks(out, plain)
	return out
}

// aesDecrypt undoes aesEncrypt without removing any padding; ct is whole
// blocks.
func aesDecrypt(key, ct []byte) []byte {
	blk, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(blk, make([]byte, aes.BlockSize)).CryptBlocks(out, ct)
	return out
}

// unpad removes PKCS#7 padding and says whether it was there.
func unpad(b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	n := int(b[len(b)-1])
	if n == 0 || n > aes.BlockSize || n > len(b) {
		return nil, false
	}
	for _, x := range b[len(b)-n:] {
		if int(x) != n {
			return nil, false
		}
	}
	return b[:len(b)-n], true
}

// ttcWriter builds TTC messages in Oracle's marshalling: compressed
// integers (a length byte, then big-endian bytes), and byte strings with a
// length byte, or in chunks after 0xFE when longer than 252 bytes.
type ttcWriter struct{ bytes.Buffer }

func (w *ttcWriter) ub(n uint64) {
	b := bytes.TrimLeft(binary.BigEndian.AppendUint64(nil, n), "\x00")
	w.WriteByte(byte(len(b)))
	w.Write(b)
}

func (w *ttcWriter) clr(b []byte) {
	if len(b) <= 0xfc {
		w.WriteByte(byte(len(b)))
		w.Write(b)
		return
	}
	w.WriteByte(0xfe)
	for len(b) > 0 {
		chunk := b[:min(len(b), 0x40)]
		w.WriteByte(byte(len(chunk)))
		w.Write(chunk)
		b = b[len(chunk):]
	}
	w.WriteByte(0)
}

// dlc is a byte string preceded by its length as a compressed integer.
func (w *ttcWriter) dlc(s string) {
	w.ub(uint64(len(s)))
	if s != "" {
		w.clr([]byte(s))
	}
}

func (w *ttcWriter) keyval(key, val string, flag uint64) {
	w.dlc(key)
	w.dlc(val)
	w.ub(flag)
}

// ttcReader reads what ttcWriter writes; the first error sticks.
type ttcReader struct {
	b   []byte
	err error
}

func (r *ttcReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = errors.New("TTC message too short")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *ttcReader) byte() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *ttcReader) ub() uint64 {
	size := int(r.byte() & 0x7f)
	var n uint64
	for _, x := range r.take(size) {
		n = n<<8 | uint64(x)
	}
	return n
}

func (r *ttcReader) clr() []byte {
	n := r.byte()
	switch n {
	case 0, 0xfd, 0xff:
		return nil
	case 0xfe:
		var out []byte
		for r.err == nil {
			size := int(r.byte())
			if size == 0 {
				break
			}
			out = append(out, r.take(size)...)
		}
		return out
	}
	return r.take(int(n))
}

func (r *ttcReader) dlc() []byte {
	if r.ub() == 0 {
		return nil
	}
	return r.clr()
}
