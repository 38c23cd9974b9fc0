using System.CommandLine;
using Platform.Gateway.Identity;
using Platform.Host.Commands;

namespace Platform.Host.Tests;

/// <summary><c>./platform keys create</c> against a data directory.</summary>
public sealed class KeysCommandTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("keys-cli-").FullName;

    private async Task<int> RunAsync(params string[] args)
    {
        var root = new RootCommand { new KeysCommand().Create() };
        return await root.Parse(args).InvokeAsync();
    }

    private async Task<IReadOnlyList<ApiKeyInfo>> ListAsync()
    {
        await using var store = OfflineKeyStore.Open(_dataDir);
        return await store.Keys.ListAsync();
    }

    [Fact]
    public async Task Create_UnknownTier_ExitsWith2AndCreatesNothing()
    {
        Assert.Equal(2, await RunAsync("keys", "create", "--name", "k", "--tier", "platinum", "--data-dir", _dataDir));
        Assert.Empty(await ListAsync());
    }

    [Fact]
    public async Task Create_KnownTier_CreatesTheKeyWithIt()
    {
        Assert.Equal(0, await RunAsync("keys", "create", "--name", "k", "--tier", "premium", "--data-dir", _dataDir));
        Assert.Equal("premium", Assert.Single(await ListAsync()).Tier);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, true); } catch (IOException) { }
    }
}
