namespace Platform.Training.Tests;

/// <summary>A test class with its own data directory and a training service started on it, removed after its tests.</summary>
public abstract class TrainingHostTest(string prefix, IReadOnlyDictionary<string, string?>? settings = null) : IAsyncLifetime
{
    protected string DataDir { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>The running service; a test may replace it with one started on <see cref="DataDir"/> with other settings.</summary>
    internal TrainingHost Host { get; set; } = null!;

    public async Task InitializeAsync() => Host = await TrainingHost.StartAsync(DataDir, settings: settings);

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDir, true); } catch (IOException) { }
    }
}
