using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Contracts;

namespace Platform.Modeling.Registry;

public sealed class ModelRegistryOptions
{
    /// <summary>Artifact bytes per state value (before base64); large artifacts are split.</summary>
    public int ChunkBytes { get; set; } = 512 * 1024;
}

/// <summary>
/// The model registry on the shared <c>modelstore</c> (keyPrefix <c>name</c>, so training writes and serving and
/// backtesting read the same keys). Layout:
/// <list type="bullet">
/// <item><c>registry/index</c>: the model names.</item>
/// <item><c>registry/models/{name}</c>: the <see cref="ModelEntry"/> (stages, aliases, champion history, outbox); every
/// transition is one ETag-guarded write of it, so two concurrent transitions cannot both win.</item>
/// <item><c>registry/models/{name}/versions/{v}</c>: the <see cref="ModelVersion"/> (lineage, artifact SHA-256).</item>
/// <item><c>registry/models/{name}/runs/{runId}</c>: the version a training run registered (idempotent registration).</item>
/// <item><c>registry/artifacts/{sha256}/{i}</c>: artifact chunks, content-addressed, base64 in JSON.</item>
/// </list>
/// Events are published after the transition commits. The event is first recorded in the entry's outbox in the same
/// write, published, then cleared; a crash in between leaves it in the outbox and <see cref="FlushOutboxAsync"/>
/// (run at start-up and after each transition) publishes it again. Delivery is therefore at-least-once and the
/// deterministic event ids let consumers drop duplicates.
/// </summary>
public sealed partial class ModelRegistry(IStateStore store, IEventPublisher publisher, TimeProvider? clock = null, ModelRegistryOptions? options = null)
{
    private const string IndexKey = "registry/index";
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly ModelRegistryOptions _options = options ?? new ModelRegistryOptions();
    // Serializes writers of one model inside this process; across processes the ETags decide.
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Locks = new(StringComparer.Ordinal);

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public IStateStore Store => store;

    private static string EntryKey(string name) => $"registry/models/{name}";
    private static string VersionKey(string name, int v) => $"registry/models/{name}/versions/{v.ToString(CultureInfo.InvariantCulture)}";
    private static string RunKey(string name, string runId) => $"registry/models/{name}/runs/{runId}";
    private static string ChunkKey(string sha, int i) => $"registry/artifacts/{sha}/{i.ToString(CultureInfo.InvariantCulture)}";

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,99}$")]
    private static partial Regex NamePattern();

    public static void ValidateName(string name)
    {
        if (!NamePattern().IsMatch(name))
            throw new RegistryException($"Invalid model name '{name}': use 1-100 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.");
    }

    private sealed record Chunk(string Data);

    // ---- reads ----------------------------------------------------------------------------------------------

    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken ct = default) =>
        (await GetAsync<List<string>>(IndexKey, ct)).Value ?? [];

    public async Task<ModelEntry?> GetEntryAsync(string name, CancellationToken ct = default) =>
        (await GetAsync<ModelEntry>(EntryKey(name), ct)).Value;

    public async Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(string name, CancellationToken ct = default)
    {
        var entry = await GetEntryAsync(name, ct) ?? throw new ModelNotFoundException($"Model '{name}' is not registered.");
        var keys = Enumerable.Range(1, entry.LatestVersion).Select(v => VersionKey(name, v)).ToArray();
        var items = await store.GetBulkAsync(keys, ct);
        return items.Select(i => Decorate(entry, JsonSerializer.Deserialize<ModelVersion>(i.Value.Span, Json)!))
            .OrderBy(v => v.Version).ToList();
    }

    /// <summary>A version by number or alias (<c>champion</c>, <c>challenger</c>, <c>latest</c>).</summary>
    public async Task<ModelVersion> GetVersionAsync(string name, string versionOrAlias, CancellationToken ct = default)
    {
        var entry = await GetEntryAsync(name, ct) ?? throw new ModelNotFoundException($"Model '{name}' is not registered.");
        var v = Resolve(entry, versionOrAlias);
        var (version, _) = await GetAsync<ModelVersion>(VersionKey(name, v), ct);
        return Decorate(entry, version ?? throw new ModelNotFoundException($"Model '{name}' has no version {v}."));
    }

    private static int Resolve(ModelEntry entry, string versionOrAlias) => versionOrAlias.ToLowerInvariant() switch
    {
        ModelAliases.Champion => entry.Champion ?? throw new ModelNotFoundException($"Model '{entry.Name}' has no champion (no Production version)."),
        ModelAliases.Challenger => entry.Challenger ?? throw new ModelNotFoundException($"Model '{entry.Name}' has no challenger (no Staging version)."),
        "latest" => entry.LatestVersion > 0 ? entry.LatestVersion : throw new ModelNotFoundException($"Model '{entry.Name}' has no versions."),
        _ when int.TryParse(versionOrAlias, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= 1 && v <= entry.LatestVersion => v,
        _ => throw new ModelNotFoundException($"Model '{entry.Name}' has no version '{versionOrAlias}' (versions 1..{entry.LatestVersion}, champion, challenger, latest)."),
    };

    private static ModelVersion Decorate(ModelEntry entry, ModelVersion v)
    {
        var aliases = new List<string>();
        if (entry.Champion == v.Version) aliases.Add(ModelAliases.Champion);
        if (entry.Challenger == v.Version) aliases.Add(ModelAliases.Challenger);
        if (entry.LatestVersion == v.Version) aliases.Add("latest");
        return v with { Stage = entry.Stages.GetValueOrDefault(v.Version, ModelStage.None), Aliases = aliases };
    }

    /// <summary>
    /// The artifact bytes of a version (number or alias), verified against the SHA-256 recorded at registration.
    /// A mismatch throws <see cref="ArtifactIntegrityException"/> and changes nothing.
    /// </summary>
    public async Task<(ModelVersion Version, byte[] Artifact)> LoadArtifactAsync(string name, string versionOrAlias, CancellationToken ct = default)
    {
        var version = await GetVersionAsync(name, versionOrAlias, ct);
        var keys = Enumerable.Range(0, version.ChunkCount).Select(i => ChunkKey(version.ArtifactSha256, i)).ToArray();
        var items = (await store.GetBulkAsync(keys, ct)).ToDictionary(i => i.Key, StringComparer.Ordinal);
        var bytes = new byte[version.ArtifactLength];
        var offset = 0;
        foreach (var key in keys)
        {
            if (!items.TryGetValue(key, out var item))
                throw new ArtifactIntegrityException($"Artifact of {name} v{version.Version} is incomplete: chunk '{key}' is missing.");
            var data = Convert.FromBase64String(JsonSerializer.Deserialize<Chunk>(item.Value.Span, Json)!.Data);
            if (offset + data.Length > bytes.Length)
                throw new ArtifactIntegrityException($"Artifact of {name} v{version.Version} is longer than the {version.ArtifactLength} bytes recorded.");
            data.CopyTo(bytes, offset);
            offset += data.Length;
        }
        var sha = Models.ModelArtifact.Sha256(bytes.AsSpan(0, offset));
        if (offset != bytes.Length || sha != version.ArtifactSha256)
            throw new ArtifactIntegrityException(
                $"Artifact of {name} v{version.Version} failed verification: SHA-256 {sha} ({offset} bytes) does not match the registered {version.ArtifactSha256} ({version.ArtifactLength} bytes).");
        return (version, bytes);
    }

    public async Task<ModelComparison> CompareAsync(string name, string a, string b, CancellationToken ct = default)
    {
        var va = await GetVersionAsync(name, a, ct);
        var vb = await GetVersionAsync(name, b, ct);
        string[] metrics = ["rmse", "mae", "r2", "ic", "rank_ic", "hit_rate", "qlike", "icir", "rank_icir"];
        var delta = metrics.ToDictionary(m => m, m => vb.Lineage.Score(m) - va.Lineage.Score(m));
        return new ModelComparison(name, va, vb, delta);
    }

    // ---- writes ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Registers an artifact as the next version (stage None). Idempotent by <paramref name="runId"/>: a run that
    /// registers again (a resumed workflow) gets its first version back and nothing is written or published twice.
    /// </summary>
    public async Task<ModelVersion> RegisterAsync(string name, byte[] artifact, ModelLineage lineage, string? runId, CancellationToken ct = default)
    {
        ValidateName(name);
        if (runId is not null && (runId.Length == 0 || runId.Contains("||", StringComparison.Ordinal) || runId.Contains('/')))
            throw new RegistryException($"Invalid run id '{runId}'.");
        var gate = Locks.GetOrAdd(name, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            if (runId is not null && (await GetAsync<int?>(RunKey(name, runId), ct)).Value is int existing)
                return await GetVersionAsync(name, existing.ToString(CultureInfo.InvariantCulture), ct);

            var sha = Models.ModelArtifact.Sha256(artifact);
            var chunks = (artifact.Length + _options.ChunkBytes - 1) / _options.ChunkBytes;
            // Content-addressed chunks: rewriting them is harmless, and they are in place before anything points at them.
            for (var i = 0; i < chunks; i++)
            {
                var slice = artifact.AsSpan(i * _options.ChunkBytes, Math.Min(_options.ChunkBytes, artifact.Length - i * _options.ChunkBytes));
                await Save(ChunkKey(sha, i), new Chunk(Convert.ToBase64String(slice)), null, ct);
            }
            await AddToIndexAsync(name, ct);

            for (var attempt = 1; ; attempt++)
            {
                var (entry, etag) = await GetAsync<ModelEntry>(EntryKey(name), ct);
                var now = _clock.GetUtcNow();
                entry ??= new ModelEntry(name, 0, [], null, null, [], 0, [], now, now);
                var v = entry.LatestVersion + 1;
                var version = new ModelVersion(name, v, runId, now, sha, artifact.Length, chunks, lineage);
                var pending = new PendingEvent(nameof(ModelRegistered), v, nameof(ModelStage.None), "", "registered", sha);
                var stages = new Dictionary<int, ModelStage>(entry.Stages) { [v] = ModelStage.None };
                var next = entry with
                {
                    LatestVersion = v,
                    Stages = stages,
                    Revision = entry.Revision + 1,
                    Pending = [.. entry.Pending, pending],
                    UpdatedAt = now,
                };
                List<StateOperation> ops =
                [
                    Upsert(VersionKey(name, v), version),
                    Upsert(EntryKey(name), next, etag),
                ];
                if (runId is not null) ops.Add(Upsert(RunKey(name, runId), (int?)v));
                if (await store.TransactAsync(ops, ct) == StateOutcome.Ok)
                {
                    await FlushOutboxCoreAsync(name, ct);
                    return Decorate(next, version);
                }
                if (attempt >= 10) throw new RegistryConflictException($"Could not register a version of '{name}': the model kept changing.");
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Moves a version to Staging (it becomes the challenger) or Production (the champion; the previous champion is
    /// archived and remembered for rollback). With a <paramref name="policy"/>, a Production promotion must beat the
    /// current champion. One ETag-guarded write: if the model changed since it was read, nothing is applied and
    /// <see cref="RegistryConflictException"/> is thrown.
    /// </summary>
    public Task<TransitionResult> PromoteAsync(string name, int version, ModelStage stage, PromotionPolicy? policy = null, CancellationToken ct = default)
    {
        if (stage is not (ModelStage.Production or ModelStage.Staging))
            throw new RegistryException($"Promote moves a version to Staging or Production, not {stage}.");
        return TransitionAsync(name, async (entry, now) =>
        {
            var current = entry.Stages.GetValueOrDefault(version, ModelStage.None);
            if (!entry.Stages.ContainsKey(version)) throw new ModelNotFoundException($"Model '{name}' has no version {version}.");
            if (current == stage) throw new RegistryException($"{name} v{version} is already in {stage}.");
            var reason = "Promoted.";
            if (stage == ModelStage.Production && policy is not null)
            {
                var challenger = (await GetVersionAsync(name, version.ToString(CultureInfo.InvariantCulture), ct)).Lineage;
                ModelLineage? champion = entry.Champion is int c ? (await GetVersionAsync(name, c.ToString(CultureInfo.InvariantCulture), ct)).Lineage : null;
                var decision = policy.Evaluate(challenger, champion);
                if (!decision.Allowed)
                    throw new PromotionRejectedException($"Promotion of {name} v{version} to Production refused: {decision.Reason}", decision);
                reason = decision.Reason;
            }
            var stages = new Dictionary<int, ModelStage>(entry.Stages) { [version] = stage };
            var history = new List<int>(entry.ChampionHistory);
            int? champion2 = entry.Champion, challenger2 = entry.Challenger;
            if (stage == ModelStage.Production)
            {
                if (entry.Champion is int old) { stages[old] = ModelStage.Archived; history.Add(old); }
                champion2 = version;
                if (challenger2 == version) challenger2 = null;
            }
            else
            {
                if (entry.Challenger is int oldChallenger && oldChallenger != version) stages[oldChallenger] = ModelStage.None;
                challenger2 = version;
            }
            var transition = stage == ModelStage.Production ? "promoted-production" : "promoted-staging";
            var alias = stage == ModelStage.Production ? ModelAliases.Champion : ModelAliases.Challenger;
            return (entry with { Stages = stages, Champion = champion2, Challenger = challenger2, ChampionHistory = history },
                version, stage, alias, transition, reason);
        }, ct);
    }

    /// <summary>Restores the previous champion to Production and archives the current one.</summary>
    public Task<TransitionResult> RollbackAsync(string name, CancellationToken ct = default) =>
        TransitionAsync(name, (entry, now) =>
        {
            if (entry.Champion is not int current) throw new RegistryException($"Model '{name}' has no champion to roll back.");
            if (entry.ChampionHistory.Count == 0) throw new RegistryException($"Model '{name}' has no previous champion to roll back to.");
            var history = new List<int>(entry.ChampionHistory);
            var previous = history[^1];
            history.RemoveAt(history.Count - 1);
            var stages = new Dictionary<int, ModelStage>(entry.Stages) { [current] = ModelStage.Archived, [previous] = ModelStage.Production };
            var challenger = entry.Challenger == previous ? null : entry.Challenger;
            return Task.FromResult((entry with { Stages = stages, Champion = previous, Challenger = challenger, ChampionHistory = history },
                previous, ModelStage.Production, ModelAliases.Champion, "rollback", $"Rolled back from v{current} to v{previous}."));
        }, ct);

    /// <summary>Archives a version that is not the champion (roll back or promote another version first).</summary>
    public Task<TransitionResult> ArchiveAsync(string name, int version, CancellationToken ct = default) =>
        TransitionAsync(name, (entry, now) =>
        {
            if (!entry.Stages.TryGetValue(version, out var stage)) throw new ModelNotFoundException($"Model '{name}' has no version {version}.");
            if (stage == ModelStage.Archived) throw new RegistryException($"{name} v{version} is already archived.");
            if (entry.Champion == version)
                throw new RegistryException($"{name} v{version} is the champion: promote another version or roll back before archiving it.");
            var stages = new Dictionary<int, ModelStage>(entry.Stages) { [version] = ModelStage.Archived };
            var challenger = entry.Challenger == version ? null : entry.Challenger;
            return Task.FromResult((entry with { Stages = stages, Challenger = challenger }, version, ModelStage.Archived, "", "archived", "Archived."));
        }, ct);

    private async Task<TransitionResult> TransitionAsync(string name,
        Func<ModelEntry, DateTimeOffset, Task<(ModelEntry Next, int Version, ModelStage Stage, string Alias, string Transition, string Reason)>> apply,
        CancellationToken ct)
    {
        var (entry, etag) = await GetAsync<ModelEntry>(EntryKey(name), ct);
        if (entry is null || etag is null) throw new ModelNotFoundException($"Model '{name}' is not registered.");
        var now = _clock.GetUtcNow();
        var (next, version, stage, alias, transition, reason) = await apply(entry, now);
        var revision = entry.Revision + 1;
        var sha = (await GetVersionAsync(name, version.ToString(CultureInfo.InvariantCulture), ct)).ArtifactSha256;
        // The revision keeps event ids unique when a version is promoted, rolled back and promoted again.
        var transitionId = $"{transition}-r{revision.ToString(CultureInfo.InvariantCulture)}";
        var pending = new PendingEvent(nameof(ModelPromoted), version, stage.ToString(), alias, transitionId, sha);
        next = next with { Revision = revision, Pending = [.. entry.Pending, pending], UpdatedAt = now };
        if (await Save(EntryKey(name), next, etag, ct) != StateOutcome.Ok)
            throw new RegistryConflictException($"Model '{name}' changed while {transition} of v{version} was being applied; nothing was changed. Re-read and retry.");
        await FlushOutboxCoreAsync(name, ct);
        return new TransitionResult(name, version, stage, next.Champion, next.Challenger, transitionId, reason);
    }

    /// <summary>Publishes and clears the outbox of every model (at start-up: events of transitions interrupted by a crash).</summary>
    public async Task FlushOutboxAsync(CancellationToken ct = default)
    {
        foreach (var name in await ListModelsAsync(ct)) await FlushOutboxCoreAsync(name, ct);
    }

    private async Task FlushOutboxCoreAsync(string name, CancellationToken ct)
    {
        var entry = await GetEntryAsync(name, ct);
        if (entry is null || entry.Pending.Count == 0) return;
        foreach (var e in entry.Pending)
        {
            if (e.Type == nameof(ModelRegistered))
                await publisher.PublishAsync(new ModelRegistered(name, e.Version, e.Stage, e.ArtifactSha256), ct);
            else
                await publisher.PublishAsync(new ModelPromoted(name, e.Version, e.Stage, e.Alias, e.ArtifactSha256, e.Transition), ct);
        }
        var published = entry.Pending.Select(p => p.Type + p.Version + p.Transition).ToHashSet(StringComparer.Ordinal);
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var (current, etag) = await GetAsync<ModelEntry>(EntryKey(name), ct);
            if (current is null) return;
            var remaining = current.Pending.Where(p => !published.Contains(p.Type + p.Version + p.Transition)).ToList();
            if (remaining.Count == current.Pending.Count) return;
            if (await Save(EntryKey(name), current with { Pending = remaining }, etag, ct) == StateOutcome.Ok) return;
        }
    }

    private async Task AddToIndexAsync(string name, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var (names, etag) = await GetAsync<List<string>>(IndexKey, ct);
            if (names?.Contains(name) == true) return;
            var next = (names ?? []).Append(name).Order(StringComparer.Ordinal).ToList();
            if (await Save(IndexKey, next, etag, ct) == StateOutcome.Ok) return;
        }
        throw new RegistryConflictException("Could not add the model to the registry index: it kept changing.");
    }

    // ---- files stored with a version (model card, plots) -----------------------------------------------------

    private sealed record StoredFile(string MediaType, string Data);

    private static string FilesKey(string name, int v) => VersionKey(name, v) + "/files";
    private static string FileKey(string name, int v, string file) => FilesKey(name, v) + "/" + file;

    /// <summary>Stores files with a registered version (overwriting files of the same name: idempotent), then their list.</summary>
    public async Task SaveFilesAsync(string name, int version, IReadOnlyList<Reports.ReportFile> files, CancellationToken ct = default)
    {
        _ = await GetVersionAsync(name, version.ToString(CultureInfo.InvariantCulture), ct);
        foreach (var f in files)
        {
            if (!FilePattern().IsMatch(f.Name)) throw new RegistryException($"Invalid file name '{f.Name}'.");
            await Save(FileKey(name, version, f.Name), new StoredFile(f.MediaType, Convert.ToBase64String(f.Content)), null, ct);
        }
        var (existing, _) = await GetAsync<List<string>>(FilesKey(name, version), ct);
        var names = (existing ?? []).Union(files.Select(f => f.Name)).Order(StringComparer.Ordinal).ToList();
        await Save(FilesKey(name, version), names, null, ct);
    }

    /// <summary>The names of the files stored with a version (empty when none).</summary>
    public async Task<(ModelVersion Version, IReadOnlyList<string> Files)> ListFilesAsync(string name, string versionOrAlias, CancellationToken ct = default)
    {
        var v = await GetVersionAsync(name, versionOrAlias, ct);
        var (names, _) = await GetAsync<List<string>>(FilesKey(name, v.Version), ct);
        return (v, names ?? []);
    }

    /// <summary>A file stored with a version, or null when there is no such file.</summary>
    public async Task<Reports.ReportFile?> GetFileAsync(string name, string versionOrAlias, string file, CancellationToken ct = default)
    {
        var v = await GetVersionAsync(name, versionOrAlias, ct);
        if (!FilePattern().IsMatch(file)) return null;
        var (stored, _) = await GetAsync<StoredFile>(FileKey(name, v.Version, file), ct);
        return stored is null ? null : new Reports.ReportFile(file, stored.MediaType, Convert.FromBase64String(stored.Data));
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,99}$")]
    private static partial Regex FilePattern();

    // ---- JSON helpers (NaN-tolerant, unlike the default state options) ---------------------------------------

    private async Task<(T? Value, string? ETag)> GetAsync<T>(string key, CancellationToken ct)
    {
        var item = await store.GetAsync(key, ct);
        return item is null ? (default, null) : (JsonSerializer.Deserialize<T>(item.Value.Span, Json), item.ETag);
    }

    private Task<StateOutcome> Save<T>(string key, T value, string? etag, CancellationToken ct) =>
        store.SaveAsync(key, JsonSerializer.SerializeToUtf8Bytes(value, Json), etag, ct);

    private static StateOperation.Upsert Upsert<T>(string key, T value, string? etag = null) =>
        new(key, JsonSerializer.SerializeToUtf8Bytes(value, Json), etag);
}
