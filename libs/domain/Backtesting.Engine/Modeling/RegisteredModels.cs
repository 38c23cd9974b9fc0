using Platform.Modeling.Models;

namespace Platform.Backtesting.Engine.Modeling;

/// <summary>A registered model version loaded for a backtest: the fitted model and what it was trained for.</summary>
public sealed record LoadedModel(IModel Model, string Name, int Version, string Kind, string FeatureSet, string FeatureSetHash, string Target, int Horizon)
{
    public string Label => $"{Name} v{Version} ({Kind})";
}

/// <summary>Resolves and loads registered model versions (the model registry in the services).</summary>
public interface IRegisteredModelSource
{
    /// <summary>The version number a number or alias (<c>champion</c>, <c>challenger</c>, <c>latest</c>) names now; throws when unknown.</summary>
    Task<int> ResolveAsync(string model, string versionOrAlias, CancellationToken ct = default);

    /// <summary>Loads a fixed version (artifact checksum verified).</summary>
    Task<LoadedModel> LoadAsync(string model, int version, CancellationToken ct = default);
}
