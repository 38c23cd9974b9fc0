using System.Globalization;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Contracts;
using Platform.Modeling.Registry;

namespace Platform.Serving.Models;

/// <summary>A registered version's artifact with what serving needs to know about it.</summary>
public sealed record ModelArtifactBytes(
    string Model, int Version, string ArtifactSha256, string FeatureSet, string FeatureSetHash, string Target, int Horizon, byte[] Artifact);

/// <summary>Where serving finds champions: the model registry in production, a fake in tests.</summary>
public interface IModelSource
{
    Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken ct);

    /// <summary>The current champion of <paramref name="model"/> (verified against its registered SHA-256), or null when it has none.</summary>
    Task<ModelArtifactBytes?> GetChampionAsync(string model, CancellationToken ct);

    /// <summary>The champion's version without its artifact (the reconcile timer's cheap check), or null when it has none.</summary>
    async Task<int?> GetChampionVersionAsync(string model, CancellationToken ct) => (await GetChampionAsync(model, ct))?.Version;
}

/// <summary>The registry in the shared <c>modelstore</c>; it verifies the artifact's SHA-256 as it reads it.</summary>
public sealed class RegistryModelSource(IStateStoreProvider stores, IEventPublisher publisher) : IModelSource
{
    private readonly ModelRegistry _registry = new(stores.Get(Components.ModelStore), publisher);

    public Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken ct) => _registry.ListModelsAsync(ct);

    public async Task<int?> GetChampionVersionAsync(string model, CancellationToken ct) => (await _registry.GetEntryAsync(model, ct))?.Champion;

    public async Task<ModelArtifactBytes?> GetChampionAsync(string model, CancellationToken ct)
    {
        var entry = await _registry.GetEntryAsync(model, ct);
        if (entry?.Champion is not int champion) return null;
        var (version, bytes) = await _registry.LoadArtifactAsync(model, champion.ToString(CultureInfo.InvariantCulture), ct);
        var lineage = version.Lineage;
        return new ModelArtifactBytes(model, version.Version, version.ArtifactSha256, lineage.FeatureSet, lineage.FeatureSetHash,
            lineage.Target, lineage.Horizon, bytes);
    }
}
