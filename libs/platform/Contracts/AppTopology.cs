namespace Platform.Contracts;

/// <summary>One deployable service: its Dapr app id and its local (loopback) port.</summary>
public sealed record AppInfo(string AppId, int Port, string ApiPrefix);

/// <summary>
/// App ids and local ports, fixed by the architecture. The same values appear in dapr.yaml,
/// tye.yaml and gitops/; a deployment test reads them all and compares against this table.
/// </summary>
public static class AppTopology
{
    public static readonly AppInfo Gateway = new("gateway", 8080, "/");
    public static readonly AppInfo MarketData = new("marketdata", 5101, "/v1/market");
    public static readonly AppInfo Features = new("features", 5102, "/v1/features");
    public static readonly AppInfo Training = new("training", 5103, "/v1/models");
    public static readonly AppInfo Serving = new("serving", 5104, "/v1/predictions");
    public static readonly AppInfo Backtesting = new("backtesting", 5105, "/v1/backtests");
    public static readonly AppInfo Monitoring = new("monitoring", 5106, "/v1/monitoring");

    /// <summary>Every service behind the gateway, in start order.</summary>
    public static readonly IReadOnlyList<AppInfo> Services =
        [MarketData, Features, Training, Serving, Backtesting, Monitoring];

    public static readonly IReadOnlyList<AppInfo> All = [Gateway, .. Services];

    public static AppInfo Find(string appId) =>
        All.FirstOrDefault(a => a.AppId == appId)
        ?? throw new ArgumentException($"Unknown app id '{appId}'. Known: {string.Join(", ", All.Select(a => a.AppId))}.", nameof(appId));
}

/// <summary>Dapr component names; they match metadata.name in components/*.yaml.</summary>
public static class Components
{
    public const string PubSub = "pubsub";
    public const string StateStore = "statestore";
    public const string FeatureStore = "featurestore";
    public const string ModelStore = "modelstore";
    public const string SecretStore = "secretstore";
}
