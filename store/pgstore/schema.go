package pgstore

import "github.com/jackc/pgx/v5"

// Schema returns the SQL that creates the sessions table named table
// (optionally schema-qualified, as in Options.Table) and its indexes, for
// those who run their own migrations. [Store.Migrate] runs the same SQL. Every
// statement is idempotent (IF NOT EXISTS).
//
// The table is keyed by the SHA-256 of the session token, never the token
// itself. The index on expiry serves [Store.DeleteExpired]; the partial index
// on owner serves the owner queries ("log out everywhere") and costs nothing
// for sessions without an owner.
//
// Schema returns an error if table has an empty part or more than two parts.
func Schema(table string) (string, error) {
	ident, err := tableIdent(table)
	if err != nil {
		return "", err
	}
	return schema(ident), nil
}

func schema(ident pgx.Identifier) string {
	t := ident.Sanitize()
	base := ident[len(ident)-1]
	expiryIdx := pgx.Identifier{base + "_expiry_idx"}.Sanitize()
	ownerIdx := pgx.Identifier{base + "_owner_idx"}.Sanitize()
	return `CREATE TABLE IF NOT EXISTS ` + t + ` (
	key     bytea       PRIMARY KEY,
	data    bytea       NOT NULL,
	expiry  timestamptz NOT NULL,
	created timestamptz NOT NULL,
	version bigint      NOT NULL,
	owner   text,
	persist boolean     NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS ` + expiryIdx + ` ON ` + t + ` (expiry);
CREATE INDEX IF NOT EXISTS ` + ownerIdx + ` ON ` + t + ` (owner) WHERE owner IS NOT NULL;
`
}
