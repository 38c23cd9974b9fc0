using System.Collections.Immutable;

namespace Platform.Serving.Models;

/// <summary>What is loaded at one instant: replaced whole, never changed in place.</summary>
public sealed class ModelSnapshot(ImmutableSortedDictionary<string, ServedModel> models)
{
    public static readonly ModelSnapshot Empty = new(ImmutableSortedDictionary.Create<string, ServedModel>(StringComparer.Ordinal));
    public ImmutableSortedDictionary<string, ServedModel> Models { get; } = models;
}

/// <summary>Why a champion is not served; <see cref="Version"/> names the version that failed to load, when one was read.</summary>
public sealed record ModelLoadError(string Model, string Error, DateTimeOffset At, int? Version = null);

/// <summary>
/// The champions being served. Readers take the current <see cref="ModelSnapshot"/> with one volatile read and lease
/// a model from it; a swap builds the new model first, publishes a new snapshot with one write, then retires the old
/// model (freed when its last lease is released). A request therefore always runs entirely on one version.
/// </summary>
public sealed class ModelHost(IModelSource source, TimeProvider clock, ILogger<ModelHost> logger) : IDisposable
{
    private volatile ModelSnapshot _snapshot = ModelSnapshot.Empty;
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ModelLoadError> _errors = new(StringComparer.Ordinal);

    public ModelSnapshot Snapshot => _snapshot;
    public IReadOnlyCollection<ModelLoadError> Errors => _errors.Values.ToList();

    /// <summary>Whether <paramref name="version"/> of <paramref name="name"/> was read and failed to load (the last attempt).</summary>
    public bool FailedToLoad(string name, int version) => _errors.TryGetValue(name, out var error) && error.Version == version;
    public long Swaps { get; private set; }

    /// <summary>A lease on the model's current version, or false when no such model is loaded.</summary>
    public bool TryLease(string name, out Lease lease)
    {
        while (true)
        {
            var snapshot = _snapshot;
            if (!snapshot.Models.TryGetValue(name, out var model))
            {
                lease = default;
                return false;
            }
            if (model.TryAcquire())
            {
                lease = new Lease(model);
                return true;
            }
            // Retired between the read and the lease: a newer snapshot is already published, read it again.
        }
    }

    /// <summary>Loads the champion of every registered model (start-up). A model that fails to load is reported, not fatal.</summary>
    public async Task LoadAllAsync(CancellationToken ct)
    {
        foreach (var name in await source.ListModelsAsync(ct)) await RefreshAsync(name, ct);
    }

    /// <summary>
    /// Makes the served version of <paramref name="name"/> the registry's current champion (no-op when it already is).
    /// Reading the champion rather than trusting an event's version makes redelivered or reordered events harmless.
    /// An artifact that fails verification keeps the previous version serving and is reported in <see cref="Errors"/>.
    /// </summary>
    public async Task RefreshAsync(string name, CancellationToken ct)
    {
        await _writer.WaitAsync(ct);
        try
        {
            var artifact = await source.GetChampionAsync(name, ct);
            var current = _snapshot.Models.GetValueOrDefault(name);
            if (artifact is null)
            {
                if (current is not null) Publish(_snapshot.Models.Remove(name), current);
                return;
            }
            if (current is not null && current.Version == artifact.Version && current.ArtifactSha256 == artifact.ArtifactSha256) return;
            ServedModel loaded;
            try
            {
                loaded = new ServedModel(artifact, clock);
            }
            catch (Exception ex) when (ex is InvalidDataException or Modeling.Registry.ArtifactIntegrityException or Modeling.Models.XGBoost.XGBoostException
                or Modeling.Models.ModelUnavailableException)
            {
                _errors[name] = new ModelLoadError(name, $"v{artifact.Version}: {ex.Message}", clock.GetUtcNow(), artifact.Version);
                logger.LogError("Could not load {Model} v{Version}; {Serving}: {Error}", name, artifact.Version,
                    current is null ? "not serving it" : $"still serving v{current.Version}", ex.Message);
                return;
            }
            _errors.TryRemove(name, out _);
            Publish(_snapshot.Models.SetItem(name, loaded), current);
            logger.LogInformation("Serving {Model} v{Version} ({Kind}, {Sha})", name, loaded.Version, loaded.Kind, loaded.ArtifactSha256[..12]);
        }
        catch (Modeling.Registry.ArtifactIntegrityException ex)
        {
            _errors[name] = new ModelLoadError(name, ex.Message, clock.GetUtcNow());
            logger.LogError("Could not load the champion of {Model}: {Error}", name, ex.Message);
        }
        finally
        {
            _writer.Release();
        }
    }

    private void Publish(ImmutableSortedDictionary<string, ServedModel> models, ServedModel? replaced)
    {
        _snapshot = new ModelSnapshot(models);
        Swaps++;
        replaced?.Retire();
    }

    public void Dispose()
    {
        var snapshot = _snapshot;
        _snapshot = ModelSnapshot.Empty;
        foreach (var model in snapshot.Models.Values) model.Retire();
    }
}

/// <summary>Loads the champions when the service starts, before it takes requests.</summary>
public sealed class ModelLoader(ModelHost host, ILogger<ModelLoader> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        await host.LoadAllAsync(ct);
        logger.LogInformation("Serving {Count} model(s)", host.Snapshot.Models.Count);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
