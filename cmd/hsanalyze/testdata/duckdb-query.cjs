// Runs one SQL query with DuckDB (npm @duckdb/node-api, found through
// NODE_PATH) and prints the rows as JSON: used by TestParquetDuckDB.
// Usage: node duckdb-query.cjs 'SELECT ...'
const { DuckDBInstance } = require('@duckdb/node-api');

(async () => {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const reader = await con.runAndReadAll(process.argv[2]);
  console.log(JSON.stringify(reader.getRowObjectsJson()));
})().catch((e) => {
  console.error(String(e));
  process.exit(1);
});
