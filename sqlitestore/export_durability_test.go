package sqlitestore

import "database/sql"

// DB returns the store's connection pool, for tests that read back how SQLite
// runs it.
func DB(s *Store) *sql.DB { return s.db.DB }
