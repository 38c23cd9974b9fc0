using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Platform.BuildingBlocks;
using Platform.OfflineStore.Monitoring;
using Platform.OfflineStore.Postgres;
using Platform.OfflineStore.Sqlite;

namespace Platform.OfflineStore;

/// <summary>
/// Chooses the offline store: <c>ConnectionStrings:Offline</c> selects PostgreSQL; without it the embedded SQLite
/// file <c>bars.db</c> in the data directory is used.
/// </summary>
public static class OfflineStoreExtensions
{
    public const string ConnectionStringName = "Offline";
    /// <summary>Readers may use their own (read-only role) connection string; they fall back to <see cref="ConnectionStringName"/>.</summary>
    public const string ReadConnectionStringName = "OfflineRead";

    /// <summary>The writable store (marketdata only: it owns the bar tables).</summary>
    public static IBarStore CreateStore(IConfiguration configuration, string dataDir) =>
        configuration.GetConnectionString(ConnectionStringName) is { Length: > 0 } cs
            ? PostgresBarStore.Create(cs)
            : SqliteBarStore.InDataDir(dataDir);

    /// <summary>A read-only accessor for other services.</summary>
    public static IBarReader CreateReader(IConfiguration configuration, string dataDir)
    {
        var cs = configuration.GetConnectionString(ReadConnectionStringName) is { Length: > 0 } read
            ? read
            : configuration.GetConnectionString(ConnectionStringName);
        return cs is { Length: > 0 }
            ? new PostgresBarReader(PostgresBarReader.ReadOnly(cs))
            : new SqliteBarReader(Path.Combine(dataDir, SqliteBarReader.FileName));
    }

    /// <summary>
    /// Registers <see cref="IBarStore"/> and <see cref="IBarReader"/> (the same instance) for the owning service, on the
    /// app's data directory, and creates or migrates the schema before any other hosted service of the app starts.
    /// </summary>
    public static IServiceCollection AddOfflineBarStore(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(sp => CreateStore(configuration, sp.GetRequiredService<RuntimeSettings>().DataDir));
        services.TryAddSingleton<IBarReader>(sp => sp.GetRequiredService<IBarStore>());
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, OfflineStoreInitializer>());
        return services;
    }

    /// <summary>Registers a read-only <see cref="IBarReader"/> for services that read bars (features, training, backtesting).</summary>
    public static IServiceCollection AddOfflineBarReader(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(sp => CreateReader(configuration, sp.GetRequiredService<RuntimeSettings>().DataDir));
        return services;
    }

    /// <summary>
    /// The monitoring tables (monitoring only): on PostgreSQL in the offline database, embedded in <c>monitoring.db</c>
    /// of the data directory.
    /// </summary>
    public static IPredictionStore CreatePredictionStore(IConfiguration configuration, string dataDir) =>
        configuration.GetConnectionString(ConnectionStringName) is { Length: > 0 } cs
            ? PostgresPredictionStore.Create(cs)
            : SqlitePredictionStore.InDataDir(dataDir);
}

/// <summary>Creates or migrates the offline store's schema when the owning service starts.</summary>
public sealed class OfflineStoreInitializer(IBarStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
