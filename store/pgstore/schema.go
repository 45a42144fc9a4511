package pgstore

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Schema returns the SQL that creates the sessions table named table
// (optionally schema-qualified, as in Options.Table) and its indexes, for
// those who run their own migrations. [Store.Migrate] runs the same SQL. Every
// statement is idempotent (IF NOT EXISTS), and a table made by an earlier
// release gains the columns added since.
//
// The table is keyed by the SHA-256 of the session token, never the token
// itself. The index on expiry serves [Store.DeleteExpired]; the partial index
// on owner serves the owner queries ("log out everywhere") and costs nothing
// for sessions without an owner.
//
// Schema returns an error for a table name that [New] rejects.
func Schema(table string) (string, error) {
	ident, err := tableIdent(table)
	if err != nil {
		return "", err
	}
	return schema(ident), nil
}

// The suffixes of the index names: an index is named after its table.
const (
	expirySuffix = "_expiry_idx"
	ownerSuffix  = "_owner_idx"
	// maxIdent is the longest identifier PostgreSQL keeps whole (NAMEDATALEN-1):
	// it truncates longer ones, which would make index names collide.
	maxIdent = 63
)

// tableIdent splits a possibly schema-qualified table name into its parts, and checks
// that every identifier derived from it fits PostgreSQL's limit.
func tableIdent(table string) (pgx.Identifier, error) {
	parts := strings.Split(table, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("pgstore: table name %q has more than two parts", table)
	}
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("pgstore: table name %q has an empty part", table)
		}
		if len(p) > maxIdent {
			return nil, fmt.Errorf("pgstore: table name %q has a part longer than PostgreSQL's %d bytes", table, maxIdent)
		}
	}
	if base := parts[len(parts)-1]; len(base)+len(expirySuffix) > maxIdent {
		return nil, fmt.Errorf("pgstore: table name %q is too long: its index %q would pass PostgreSQL's %d bytes (at most %d bytes for the table)",
			table, base+expirySuffix, maxIdent, maxIdent-len(expirySuffix))
	}
	return pgx.Identifier(parts), nil
}

func schema(ident pgx.Identifier) string {
	t := ident.Sanitize()
	base := ident[len(ident)-1]
	expiryIdx := pgx.Identifier{base + expirySuffix}.Sanitize()
	ownerIdx := pgx.Identifier{base + ownerSuffix}.Sanitize()
	return `CREATE TABLE IF NOT EXISTS ` + t + ` (
	key     bytea       PRIMARY KEY,
	data    bytea       NOT NULL,
	expiry  timestamptz NOT NULL,
	created timestamptz NOT NULL,
	active  timestamptz,
	version bigint      NOT NULL,
	owner   text,
	persist boolean     NOT NULL DEFAULT false,
	ended   smallint    NOT NULL DEFAULT 0
);
ALTER TABLE ` + t + ` ADD COLUMN IF NOT EXISTS active timestamptz;
ALTER TABLE ` + t + ` ADD COLUMN IF NOT EXISTS ended smallint NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS ` + expiryIdx + ` ON ` + t + ` (expiry);
CREATE INDEX IF NOT EXISTS ` + ownerIdx + ` ON ` + t + ` (owner) WHERE owner IS NOT NULL;
`
}
