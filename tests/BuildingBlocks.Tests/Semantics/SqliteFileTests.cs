using Microsoft.Extensions.Configuration;
using Platform.BuildingBlocks.Embedded;

namespace Platform.BuildingBlocks.Tests.Semantics;

/// <summary>Every connection a data file hands out has its settings, whether fresh or taken again from the pool.</summary>
public sealed class SqliteFileTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (long BusyTimeout, long Synchronous, long ForeignKeys) Settings(Microsoft.Data.Sqlite.SqliteConnection connection)
    {
        long Read(string pragma)
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = $"PRAGMA {pragma}";
            return (long)cmd.ExecuteScalar()!;
        }
        return (Read("busy_timeout"), Read("synchronous"), Read("foreign_keys"));
    }

    [Fact]
    public void OpenConnection_FreshAndReusedFromThePool_BusyTimeoutSynchronousNormalAndForeignKeysSet()
    {
        var file = SqliteFile.Open(Path.Combine(_dir.Path, "settings.db"), "CREATE TABLE IF NOT EXISTS t (x INTEGER);");
        SQLitePCL.sqlite3? first;
        using (var connection = file.OpenConnection())
        {
            first = connection.Handle;
            Assert.Equal((10000L, 1L, 1L), Settings(connection));
        }
        using (var again = file.OpenConnection())
        {
            // The pool hands back the same native connection, whose settings were applied once.
            Assert.Same(first, again.Handle);
            Assert.Equal((10000L, 1L, 1L), Settings(again));
            using var concurrent = file.OpenConnection();
            Assert.NotSame(first, concurrent.Handle);
            Assert.Equal((10000L, 1L, 1L), Settings(concurrent));
        }
    }

    [Theory]
    [InlineData(SqliteSynchronous.Normal, 1L)]
    [InlineData(SqliteSynchronous.Full, 2L)]
    public void OpenConnection_SynchronousSetting_EveryConnectionHasIt(SqliteSynchronous synchronous, long pragmaValue)
    {
        var file = SqliteFile.Open(Path.Combine(_dir.Path, $"sync-{synchronous}.db"), "CREATE TABLE IF NOT EXISTS t (x INTEGER);", synchronous);
        using var connection = file.OpenConnection();
        using var concurrent = file.OpenConnection();
        Assert.Equal(pragmaValue, Settings(connection).Synchronous);
        Assert.Equal(pragmaValue, Settings(concurrent).Synchronous);
    }

    [Fact]
    public void OpenConnection_SameFileOpenedAgainWithFull_PooledConnectionSwitchesToFull()
    {
        var path = Path.Combine(_dir.Path, "switch.db");
        var normal = SqliteFile.Open(path, "CREATE TABLE IF NOT EXISTS t (x INTEGER);");
        SQLitePCL.sqlite3? first;
        using (var connection = normal.OpenConnection()) first = connection.Handle;
        var full = SqliteFile.Open(path, "CREATE TABLE IF NOT EXISTS t (x INTEGER);", SqliteSynchronous.Full);
        using var again = full.OpenConnection();
        Assert.Same(first, again.Handle);
        Assert.Equal(2L, Settings(again).Synchronous);
    }

    private static long PageSize(SqliteFile file)
    {
        using var connection = file.OpenConnection();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "PRAGMA page_size";
        return (long)cmd.ExecuteScalar()!;
    }

    [Fact]
    public void Open_NewFileWithAPageSize_FileHasItAndAnExistingOneKeepsItsOwn()
    {
        const string schema = "CREATE TABLE IF NOT EXISTS t (x INTEGER);";
        var large = Path.Combine(_dir.Path, "large.db");
        Assert.Equal(16384L, PageSize(SqliteFile.Open(large, schema, pageSize: 16384)));
        Assert.Equal(16384L, PageSize(SqliteFile.Open(large, schema)));
        var plain = Path.Combine(_dir.Path, "plain.db");
        Assert.Equal((long)SqliteFile.DefaultPageSize, PageSize(SqliteFile.Open(plain, schema)));
        Assert.Equal((long)SqliteFile.DefaultPageSize, PageSize(SqliteFile.Open(plain, schema, pageSize: 16384)));
    }

    [Fact]
    public void OpenConnection_FileWithLargerPages_AutomaticCheckpointAfterTheDefaultsBytes()
    {
        const string schema = "CREATE TABLE IF NOT EXISTS t (x INTEGER);";
        long AutoCheckpointPages(SqliteFile file)
        {
            using var connection = file.OpenConnection();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "PRAGMA wal_autocheckpoint";
            return (long)cmd.ExecuteScalar()!;
        }
        Assert.Equal(1000L, AutoCheckpointPages(SqliteFile.Open(Path.Combine(_dir.Path, "plain-wal.db"), schema)));
        Assert.Equal(250L, AutoCheckpointPages(SqliteFile.Open(Path.Combine(_dir.Path, "large-wal.db"), schema, pageSize: 16384)));
    }

    [Theory]
    [InlineData(256)]
    [InlineData(12288)]
    [InlineData(131072)]
    public void Open_PageSizeNotAPowerOfTwoFrom512To65536_Throws(int pageSize) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => SqliteFile.Open(Path.Combine(_dir.Path, "bad.db"), "CREATE TABLE IF NOT EXISTS t (x INTEGER);", pageSize: pageSize));

    [Theory]
    [InlineData(null, SqliteSynchronous.Normal)]
    [InlineData("full", SqliteSynchronous.Full)]
    [InlineData("NORMAL", SqliteSynchronous.Normal)]
    public void From_RuntimeSynchronous_ParsedIntoTheSettings(string? configured, SqliteSynchronous expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Runtime:Mode"] = "embedded", ["Runtime:Synchronous"] = configured }).Build();
        Assert.Equal(expected, RuntimeSettings.From(configuration, "app").Synchronous);
    }

    [Fact]
    public void From_UnknownRuntimeSynchronous_ThrowsNamingTheSetting()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Runtime:Mode"] = "embedded", ["Runtime:Synchronous"] = "off" }).Build();
        var ex = Assert.Throws<InvalidOperationException>(() => { RuntimeSettings.From(configuration, "app"); });
        Assert.Contains("Runtime:Synchronous", ex.Message);
    }
}
