using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Npgsql;
using Platform.OfflineStore.Monitoring;
using Platform.OfflineStore.Postgres;
using Platform.OfflineStore.Sqlite;
using Platform.TestSupport;

namespace Platform.OfflineStore.Tests;

/// <summary>
/// Every statement of the offline stores is planned and refused if it reads a whole table that grows with the data
/// (bars, the outbox, predictions, outcomes, refusals, drift events). The statements are found by reflection on each
/// store's statement class, so a new one is checked the day it is added; <see cref="StoreSources_RunOnlyCollectedStatements"/>
/// keeps them from being written anywhere else.
/// </summary>
public sealed partial class QueryPlanTests
{
    private static readonly Type[] SqliteStatementClasses = [typeof(SqliteBarSql), typeof(SqlitePredictionSql)];
    private static readonly Type[] PostgresStatementClasses = [typeof(PostgresBarSql), typeof(PostgresPredictionSql)];

    /// <summary>The string constants of a statement class, without the schema and migrations (they read whole tables once).</summary>
    private static IEnumerable<(string Name, string Sql)> Statements(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(string) && f.Name != "Schema" && !f.Name.StartsWith("Migrate", StringComparison.Ordinal))
            .Select(f => (f.Name, (string)f.GetValue(null)!));

    public static TheoryData<string, string> SqliteStatements() => Table(SqliteStatementClasses);

    public static TheoryData<string, string> PostgresStatements() => Table(PostgresStatementClasses);

    private static TheoryData<string, string> Table(Type[] classes)
    {
        var data = new TheoryData<string, string>();
        foreach (var type in classes)
            foreach (var (name, _) in Statements(type)) data.Add(type.Name, name);
        return data;
    }

    private static Type Class(string name) => SqliteStatementClasses.Concat(PostgresStatementClasses).Single(t => t.Name == name);

    private static string Sql(Type type, string name) => Statements(type).Single(s => s.Name == name).Sql;

    private static IReadOnlySet<string> SmallTables(Type type) =>
        type.GetField("SmallTables", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as IReadOnlySet<string> ?? new HashSet<string>();

    private static bool MayReadWholeTable(Type type, string name) =>
        type.GetField("WholeTableReads", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) is IReadOnlyDictionary<string, string> allowed
        && allowed.ContainsKey(name);

    [Fact]
    public void StatementClasses_EachStore_HaveStatements()
    {
        foreach (var type in SqliteStatementClasses.Concat(PostgresStatementClasses)) Assert.True(Statements(type).Count() >= 5, type.Name);
    }

    [Theory]
    [MemberData(nameof(SqliteStatements))]
    public void SqliteStatement_QueryPlan_ReadsNoGrowingTableWhole(string store, string statement)
    {
        var type = Class(store);
        var sql = Sql(type, statement);
        var dir = Directory.CreateTempSubdirectory("plan-sqlite-").FullName;
        try
        {
            using var connection = OpenSqlite(type, dir);
            var partialIndexes = new HashSet<string>();
            using (var indexes = connection.CreateCommand())
            {
                indexes.CommandText = "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'";
                using var r = indexes.ExecuteReader();
                while (r.Read()) partialIndexes.Add(r.GetString(0));
            }
            using var explain = connection.CreateCommand();
            explain.CommandText = "EXPLAIN QUERY PLAN " + sql;
            foreach (var name in SqliteParameter().Matches(sql).Select(m => m.Value).Distinct())
                explain.Parameters.AddWithValue(name, DBNull.Value);
            var plan = new List<string>();
            using (var reader = explain.ExecuteReader())
                while (reader.Read()) plan.Add(reader.GetString(3));

            var sortsAfterScan = plan.Any(p => p.StartsWith("USE TEMP B-TREE FOR ORDER BY", StringComparison.Ordinal));
            var fullScans = plan.Where(p => SqliteScan().Match(p) is { Success: true } m
                    && !SmallTables(type).Contains(m.Groups["table"].Value)
                    && m.Groups["table"].Value != "CONSTANT"
                    && !(m.Groups["index"].Success && partialIndexes.Contains(m.Groups["index"].Value))
                    // An index walked in order and cut by LIMIT reads only the rows it returns.
                    && !(m.Groups["index"].Success && !sortsAfterScan && sql.Contains("LIMIT", StringComparison.Ordinal)))
                .ToList();
            if (MayReadWholeTable(type, statement)) return;
            Assert.True(fullScans.Count == 0, $"{store}.{statement} scans a whole table:\n{string.Join("\n", plan)}");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static SqliteConnection OpenSqlite(Type type, string dir)
    {
        string path;
        if (type == typeof(SqliteBarSql))
        {
            var store = SqliteBarStore.InDataDir(dir);
            store.InitializeAsync().GetAwaiter().GetResult();
            path = store.Path;
        }
        else
        {
            var store = SqlitePredictionStore.InDataDir(dir);
            store.InitializeAsync().GetAwaiter().GetResult();
            path = store.Path;
        }
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    [Theory]
    [MemberData(nameof(PostgresStatements))]
    public async Task PostgresStatement_GenericPlanWithoutSeqScans_ScansNoGrowingTable(string store, string statement)
    {
        var type = Class(store);
        var sql = Sql(type, statement);
        var first = sql.TrimStart().Split(' ', 2)[0].ToUpperInvariant();
        if (first is "CREATE" or "COPY" or "ANALYZE") return; // no plan: staging DDL and bulk copies

        var (json, partialIndexes) = await PostgresPlanAsync(type, sql);
        var plan = JsonDocument.Parse(json).RootElement[0].GetProperty("Plan");
        var fullScans = new List<string>();
        FindFullScans(plan, bounded: false, SmallTables(type), partialIndexes, fullScans);
        if (MayReadWholeTable(type, statement)) return;
        Assert.True(fullScans.Count == 0, $"{store}.{statement} reads a whole table ({string.Join(", ", fullScans)}):\n{json}");
    }

    /// <summary>A join's read of what is pending takes the index of pending predictions, not the series' whole history.</summary>
    [Fact]
    public async Task PostgresPending_GenericPlan_ReadsThePendingIndex()
    {
        var (json, _) = await PostgresPlanAsync(typeof(PostgresPredictionSql), PostgresPredictionSql.Pending);

        Assert.Contains("\"predictions_pending\"", json);
    }

    [Fact]
    public void SqlitePending_QueryPlan_ReadsThePendingIndex()
    {
        var dir = Directory.CreateTempSubdirectory("plan-sqlite-").FullName;
        try
        {
            using var connection = OpenSqlite(typeof(SqlitePredictionSql), dir);
            using var explain = connection.CreateCommand();
            explain.CommandText = "EXPLAIN QUERY PLAN " + SqlitePredictionSql.Pending;
            foreach (var name in SqliteParameter().Matches(SqlitePredictionSql.Pending).Select(m => m.Value).Distinct())
                explain.Parameters.AddWithValue(name, DBNull.Value);
            var plan = new List<string>();
            using (var reader = explain.ExecuteReader())
                while (reader.Read()) plan.Add(reader.GetString(3));

            Assert.Contains(plan, p => p.Contains("INDEX predictions_pending", StringComparison.Ordinal));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// The generic plan of <paramref name="sql"/> (JSON) in a fresh database of the store <paramref name="type"/> serves, with
    /// sequential scans, hash and merge joins priced out; and the partial indexes there are.
    /// </summary>
    private static async Task<(string Json, HashSet<string> PartialIndexes)> PostgresPlanAsync(Type type, string sql)
    {
        var cs = await PostgresCluster.CreateDatabaseAsync("plan");
        if (type == typeof(PostgresBarSql)) await using (var s = PostgresBarStore.Create(cs)) await s.InitializeAsync();
        else await using (var s = PostgresPredictionStore.Create(cs)) await s.InitializeAsync();

        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        async Task Run(string text)
        {
            await using var cmd = new NpgsqlCommand(text, connection, tx);
            await cmd.ExecuteNonQueryAsync();
        }
        if (type == typeof(PostgresBarSql))
        {
            // Bars outnumber a write's staged rows, as in production, so the planner does not drive a join from bars.
            await Run("""
                INSERT INTO bars SELECT 'S' || (i % 20), '1d', timestamptz '2000-01-01' + i * interval '1 day', 1, 1, 1, 1, 1, NULL, NULL
                FROM generate_series(1, 20000) i;
                ANALYZE bars;
                """);
            await Run(PostgresBarSql.CreateStaging);
            // The staging table has no index; with sequential scans priced out, this one lets the planner read it
            // whole (it is the write's own rows) without distorting the join order.
            await Run("CREATE INDEX ON bars_staging (symbol, interval, time)");
            await Run("INSERT INTO bars_staging SELECT * FROM bars LIMIT 10; ANALYZE bars_staging;");
        }
        // The generic plan is the one a prepared statement settles on once its parameters stop mattering. Sequential
        // scans, hash and merge joins are priced out, so each table is reached through an index if any index can
        // serve it (a bulk write may still prefer a hash join over a large batch; that is the planner's choice).
        await Run("SET LOCAL enable_seqscan = off");
        await Run("SET LOCAL enable_hashjoin = off");
        await Run("SET LOCAL enable_mergejoin = off");
        await Run("SET LOCAL plan_cache_mode = force_generic_plan");
        await Run("PREPARE checked AS " + sql);
        var partialIndexes = new HashSet<string>();
        await using (var indexes = new NpgsqlCommand("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '% WHERE %'", connection, tx))
        await using (var reader = await indexes.ExecuteReaderAsync())
            while (await reader.ReadAsync()) partialIndexes.Add(reader.GetString(0));
        var parameters = PostgresParameter().Matches(sql).Select(m => int.Parse(m.Groups[1].Value)).DefaultIfEmpty(0).Max();
        string json;
        await using (var explain = new NpgsqlCommand("EXPLAIN (FORMAT JSON) EXECUTE checked"
            + (parameters > 0 ? "(" + string.Join(", ", Enumerable.Repeat("NULL", parameters)) + ")" : ""), connection, tx))
            json = (string)(await explain.ExecuteScalarAsync())!;
        await tx.RollbackAsync();
        return (json, partialIndexes);
    }

    /// <summary>
    /// Scans of a growing table that read all of it: a sequential scan, or an index walked without a condition unless
    /// the index is partial or a LIMIT above it (with no sort or aggregate between) stops the walk.
    /// </summary>
    private static void FindFullScans(JsonElement node, bool bounded, IReadOnlySet<string> small, HashSet<string> partial, List<string> found)
    {
        var type = node.GetProperty("Node Type").GetString()!;
        if (type == "Limit") bounded = true;
        else if (type is "Sort" or "Incremental Sort" or "Aggregate" or "Hash" or "Materialize" or "WindowAgg" or "SetOp") bounded = false;
        if (node.TryGetProperty("Relation Name", out var relation) && !small.Contains(relation.GetString()!))
        {
            var table = relation.GetString()!;
            var index = node.TryGetProperty("Index Name", out var i) ? i.GetString() : null;
            if (type == "Seq Scan") found.Add($"Seq Scan on {table}");
            else if (type is "Index Scan" or "Index Only Scan" && !node.TryGetProperty("Index Cond", out _)
                     && !(index is not null && partial.Contains(index)) && !bounded)
                found.Add($"{type} on {table} using {index} without a condition");
        }
        if (node.TryGetProperty("Plans", out var children))
            foreach (var child in children.EnumerateArray()) FindFullScans(child, bounded, small, partial, found);
    }

    [Fact]
    public void StoreSources_RunOnlyCollectedStatements()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Platform.sln"))) root = root.Parent;
        Assert.NotNull(root);
        var sources = Directory.GetFiles(Path.Combine(root.FullName, "libs", "domain", "OfflineStore"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.EndsWith("Sql.cs", StringComparison.Ordinal));
        // Literal SQL handed to a command outside the statement classes; session settings and migration bookkeeping
        // touch no data table and may stay where they are used.
        var offending = sources.SelectMany(f => InlineSql().Matches(File.ReadAllText(f)).Select(m => (File: Path.GetFileName(f), Text: m.Value)))
            .Where(x => !x.Text.Contains("PRAGMA", StringComparison.Ordinal) && !x.Text.Contains("schema_migrations", StringComparison.Ordinal)
                && !x.Text.Contains("pg_advisory_xact_lock", StringComparison.Ordinal))
            .ToList();
        Assert.True(offending.Count == 0, "SQL outside the statement classes: " + string.Join("; ", offending.Select(o => $"{o.File}: {o.Text}")));
    }

    [GeneratedRegex(@"\$[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex SqliteParameter();

    [GeneratedRegex(@"\$(\d+)")]
    private static partial Regex PostgresParameter();

    [GeneratedRegex(@"^SCAN (?<table>\w+)(?: USING (?:COVERING )?INDEX (?<index>\w+))?")]
    private static partial Regex SqliteScan();

    [GeneratedRegex("""(?:CommandText\s*=|CreateCommand\(|NpgsqlCommand\(|Exec\(connection, tx,)\s*\$?"[^;]*""")]
    private static partial Regex InlineSql();
}
