package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxPrepared bounds the statements one snapshot keeps prepared. A
// statement's text follows the request's shape (the number of codes in an
// IN list, the filters asked for), so the texts are few for the usual
// requests and unbounded in principle; beyond the bound a text is run
// unprepared.
const maxPrepared = 256

// stmtCache holds a snapshot's prepared read statements by text.
//
// Only the store's read statements (Store.query) are prepared, and none
// of them has a list parameter in an OR branch: with DuckDB 1.5.6 and
// 2.0.0 a reused prepared statement of that shape answers wrongly
// (TestPreparedListInUnevaluatedBranch).
// TestPreparedStatementsAnswerAsUnprepared runs each statement the store
// prepares with changing arguments, empty lists first, against the same
// text unprepared.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	closed bool
}

// query runs q with args, through its prepared statement when it has one
// or there is room for one more.
func (c *stmtCache) query(ctx context.Context, db *sql.DB, q string, args []any) (*sql.Rows, error) {
	if st := c.stmt(ctx, db, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.QueryContext(ctx, q, args...)
}

func (c *stmtCache) stmt(ctx context.Context, db *sql.DB, q string) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.m[q]
	full := c.closed || len(c.m) >= maxPrepared
	c.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil // the plain query reports the error
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[q]; ok || c.closed {
		st.Close()
		return prev
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[q] = st
	return st
}

// close closes the prepared statements; later queries run unprepared.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}
