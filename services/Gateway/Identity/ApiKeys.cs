using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.State;
using Platform.Gateway.Limits;

namespace Platform.Gateway.Identity;

/// <summary>A stored API key: never the key itself, only its salted, peppered HMAC-SHA256 digest.</summary>
public sealed record ApiKeyRecord(
    string Id, string Name, string? Owner, string Tier, IReadOnlyList<string> Scopes,
    string Salt, string Digest, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt = null)
{
    public bool IsRevoked => RevokedAt is not null;
}

/// <summary>What <c>keys list</c> and the admin API show: everything but the salt and digest.</summary>
public sealed record ApiKeyInfo(string Id, string Name, string? Owner, string Tier, IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    public static ApiKeyInfo From(ApiKeyRecord r) => new(r.Id, r.Name, r.Owner, r.Tier, r.Scopes, r.CreatedAt, r.RevokedAt);
}

/// <summary>A key just created: the only time the secret token exists outside the caller's hands.</summary>
public sealed record CreatedApiKey(ApiKeyInfo Key, string Token);

/// <summary>The caller an accepted key stands for.</summary>
public sealed record ApiKeyPrincipal(string Id, string Name, string Tier, IReadOnlyList<string> Scopes)
{
    public GatewayCaller Caller { get; } = new("api-key", Id, Tier, Scopes);

    /// <summary>The claims of the key's identity, built once per cached record: each request's identity takes its own copies.</summary>
    public IReadOnlyList<Claim> Claims { get; } =
    [
        new(GatewayClaims.Id, Id),
        new(GatewayClaims.Kind, "api-key"),
        new(GatewayClaims.Tier, Tier),
        new(GatewayClaims.Name, Name),
        .. Scopes.Select(scope => new Claim(Platform.Gateway.Identity.Scopes.ClaimType, scope)),
    ];
}

public sealed class ApiKeyOptions
{
    /// <summary>How long a verified key's record is kept in memory: the longest a revocation made by another replica
    /// or by the CLI takes to be seen here (a revocation through this gateway is seen at once).</summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Entries kept at most (known and unknown key ids).</summary>
    public int CacheSize { get; set; } = 10_000;

    /// <summary>The tier a key gets when none is asked for.</summary>
    public string DefaultTier { get; set; } = "standard";
}

/// <summary>
/// Key format: <c>pk_</c> + 16 hex characters of key id (not secret: it finds the record) + <c>_</c> + 32 random bytes
/// base64url (the secret). The digest is HMAC-SHA256 keyed with the installation's pepper over the key's own random
/// salt followed by the secret, so a copy of the state store alone cannot be used to test guesses offline.
/// </summary>
public static class ApiKeyToken
{
    public const string Prefix = "pk_";
    public const int IdLength = 16;
    private const int SecretBytes = 32;
    private const int SaltBytes = 16;
    /// <summary>base64url of 32 bytes without padding.</summary>
    private const int SecretLength = 43;
    public const int Length = 3 + IdLength + 1 + SecretLength;

    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdLength / 2));

    public static (string Token, byte[] Salt, string Secret) Create(string id)
    {
        var secret = Base64Url(RandomNumberGenerator.GetBytes(SecretBytes));
        return (Prefix + id + "_" + secret, RandomNumberGenerator.GetBytes(SaltBytes), secret);
    }

    /// <summary>Splits a presented token into id and secret; false for anything not shaped like a key.</summary>
    public static bool TryParse(ReadOnlySpan<char> token, out string id, out ReadOnlySpan<char> secret)
    {
        id = "";
        secret = default;
        if (token.Length != Length || !token.StartsWith(Prefix, StringComparison.Ordinal) || token[3 + IdLength] != '_') return false;
        var idSpan = token.Slice(3, IdLength);
        foreach (var c in idSpan) if (!char.IsAsciiHexDigitLower(c)) return false;
        secret = token[(4 + IdLength)..];
        id = idSpan.ToString();
        return true;
    }

    /// <summary>HMAC-SHA256(pepper, salt || UTF-8(secret)) into <paramref name="digest"/> (32 bytes), without allocating.</summary>
    public static void Digest(byte[] pepper, ReadOnlySpan<byte> salt, ReadOnlySpan<char> secret, Span<byte> digest)
    {
        Span<byte> message = stackalloc byte[SaltBytes + 64];
        var saltLength = Math.Min(salt.Length, SaltBytes);
        salt[..saltLength].CopyTo(message);
        var written = Encoding.UTF8.GetBytes(secret.Length <= 64 ? secret : secret[..64], message[saltLength..]);
        if (!MacFor(pepper).TryComputeHash(message[..(saltLength + written)], digest, out _))
            throw new ArgumentException("The digest needs 32 bytes.", nameof(digest));
    }

    /// <summary>
    /// This thread's HMAC keyed with <paramref name="pepper"/>. A one-shot HMAC sets the key up again on every call, about
    /// half of a key check's cost; an instance keeps it and resets after each hash. Instances are not thread-safe, hence one
    /// per thread; a pepper other than the last one (another installation in the same process) gets a new instance.
    /// </summary>
    private static HMACSHA256 MacFor(byte[] pepper)
    {
        if (_mac is { } mac && ReferenceEquals(_macPepper, pepper)) return mac;
        _mac?.Dispose();
        _macPepper = pepper;
        return _mac = new HMACSHA256(pepper);
    }

    [ThreadStatic] private static HMACSHA256? _mac;
    [ThreadStatic] private static byte[]? _macPepper;

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>
/// API keys in the gateway's private state store (<c>apikeys/{id}</c>, plus <c>apikeys/index</c> listing the ids) with
/// a small verified-key cache so the check on every request costs an HMAC and a constant-time compare, not a store
/// read. Revoking through this instance removes the cached entry at once.
/// </summary>
public sealed class ApiKeyService(IStateStoreProvider stores, PepperProvider pepper, IOptions<ApiKeyOptions> options, RateLimitOptions tiers,
    TimeProvider? clock = null)
{
    public const string IndexKey = "apikeys/index";
    public const string DevelopmentMarkerKey = "apikeys/development-key";
    private static string RecordKey(string id) => "apikeys/" + id;

    private readonly IStateStore _store = stores.PrivateStore();
    private readonly ApiKeyOptions _options = options.Value;
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, CacheEntry> _cache = new(StringComparer.Ordinal);

    private sealed record CacheEntry(ApiKeyRecord? Record, byte[]? Salt, byte[]? Digest, ApiKeyPrincipal? Principal, long ExpiresAt);

    public IStateStore Store => _store;

    public Task<CreatedApiKey> CreateAsync(string name, string? tier = null, IEnumerable<string>? scopes = null, string? owner = null,
        CancellationToken ct = default) => CreateAsync(name, tier, scopes, owner, ct, marker: false);

    /// <summary>With <paramref name="marker"/>, the development-key marker is written in the same transaction.</summary>
    internal async Task<CreatedApiKey> CreateAsync(string name, string? tier, IEnumerable<string>? scopes, string? owner,
        CancellationToken ct, bool marker)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A key needs a name.", nameof(name));
        var scopeList = (scopes ?? []).Select(s => s.Trim()).Where(s => s.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var unknown = scopeList.Where(s => !Scopes.IsKnown(s)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Unknown scope(s) {string.Join(", ", unknown)}. Known: {string.Join(", ", Scopes.All)}.", nameof(scopes));
        var tierName = string.IsNullOrWhiteSpace(tier) ? _options.DefaultTier : tier.Trim();
        if (!tiers.IsKnown(tierName))
            throw new ArgumentException($"Unknown tier '{tierName}'. Known: {KnownTiers}.", nameof(tier));
        var pepperBytes = await pepper.GetAsync(ct);
        var id = ApiKeyToken.NewId();
        var (token, salt, secret) = ApiKeyToken.Create(id);
        var digest = new byte[32];
        ApiKeyToken.Digest(pepperBytes, salt, secret, digest);
        var record = new ApiKeyRecord(id, name.Trim(), owner, tierName, scopeList,
            Convert.ToBase64String(salt), Convert.ToBase64String(digest), _clock.GetUtcNow());
        await SaveWithIndexAsync(record, marker ? StateStoreExtensions.Upsert(DevelopmentMarkerKey, new { record.Id, record.CreatedAt }) : null, ct);
        _cache.TryRemove(id, out _);
        return new CreatedApiKey(ApiKeyInfo.From(record), token);
    }

    /// <summary>Whether keys may be created with this tier: one configured in <c>Gateway:RateLimits:Tiers</c> (null or blank: the default tier).</summary>
    public bool IsKnownTier(string? tier) => tiers.IsKnown(string.IsNullOrWhiteSpace(tier) ? _options.DefaultTier : tier.Trim());

    public string KnownTiers => string.Join(", ", tiers.Tiers.Keys.Order(StringComparer.Ordinal));

    /// <summary>Saves the record and adds it to the index in one transaction (ETag-guarded on the index).</summary>
    internal Task SaveWithIndexAsync(ApiKeyRecord record, StateOperation? extra, CancellationToken ct) =>
        ConflictRetry.RunAsync("saving the API key (the key index kept changing)", async token =>
        {
            var (ids, etag) = await _store.GetWithETagAsync<List<string>>(IndexKey, token);
            ids ??= [];
            if (!ids.Contains(record.Id)) ids.Add(record.Id);
            List<StateOperation> ops = [StateStoreExtensions.Upsert(RecordKey(record.Id), record), StateStoreExtensions.Upsert(IndexKey, ids, etag)];
            if (extra is not null) ops.Add(extra);
            return await _store.TransactAsync(ops, token) == StateOutcome.Ok;
        }, ct);

    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(CancellationToken ct = default)
    {
        var ids = await _store.GetAsync<List<string>>(IndexKey, ct) ?? [];
        var items = await _store.GetBulkAsync(ids.Select(RecordKey).ToArray(), ct);
        return items.Select(i => ApiKeyInfo.From(StateStoreExtensions.Deserialize<ApiKeyRecord>(i.Value)))
            .OrderBy(k => k.CreatedAt).ThenBy(k => k.Id, StringComparer.Ordinal).ToList();
    }

    public async Task<ApiKeyInfo?> GetAsync(string id, CancellationToken ct = default) =>
        await _store.GetAsync<ApiKeyRecord>(RecordKey(id), ct) is { } r ? ApiKeyInfo.From(r) : null;

    /// <summary>Marks the key revoked (kept for audit) and drops it from this gateway's cache. Null when no such key.</summary>
    public async Task<ApiKeyInfo?> RevokeAsync(string id, CancellationToken ct = default)
    {
        if (!IsWellFormedId(id)) return null;
        ApiKeyRecord? result = null;
        var exists = await _store.GetAsync(RecordKey(id), ct) is not null;
        if (!exists) return null;
        await _store.UpdateAsync<ApiKeyRecord>(RecordKey(id), current =>
            result = current!.RevokedAt is null ? current with { RevokedAt = _clock.GetUtcNow() } : current, ct: ct);
        _cache.TryRemove(id, out _);
        return result is null ? null : ApiKeyInfo.From(result);
    }

    public static bool IsWellFormedId(string id) => id.Length == ApiKeyToken.IdLength && id.All(char.IsAsciiHexDigitLower);

    /// <summary>
    /// The principal of a presented key, or null (malformed, unknown, revoked, or wrong secret). Every failure looks the
    /// same to the caller; the digest comparison is constant-time.
    /// </summary>
    public async ValueTask<ApiKeyPrincipal?> VerifyAsync(string presented, CancellationToken ct = default)
    {
        if (!ApiKeyToken.TryParse(presented, out var id, out _)) return null;
        var now = _clock.GetTimestamp();
        if (!_cache.TryGetValue(id, out var entry) || now >= entry.ExpiresAt)
            entry = await LoadAsync(id, ct);
        return Check(entry, presented, await pepper.GetAsync(ct));
    }

    private static ApiKeyPrincipal? Check(CacheEntry entry, string presented, byte[] pepperBytes)
    {
        if (entry.Record is null || entry.Record.IsRevoked) return null;
        ApiKeyToken.TryParse(presented, out _, out var secret);
        Span<byte> digest = stackalloc byte[32];
        ApiKeyToken.Digest(pepperBytes, entry.Salt, secret, digest);
        return CryptographicOperations.FixedTimeEquals(digest, entry.Digest) ? entry.Principal : null;
    }

    private async Task<CacheEntry> LoadAsync(string id, CancellationToken ct)
    {
        var record = await _store.GetAsync<ApiKeyRecord>(RecordKey(id), ct);
        var entry = record is null
            ? new CacheEntry(null, null, null, null, Expiry(TimeSpan.FromTicks(Math.Min(_options.CacheTtl.Ticks, TimeSpan.TicksPerSecond * 5))))
            : new CacheEntry(record, Convert.FromBase64String(record.Salt), Convert.FromBase64String(record.Digest),
                new ApiKeyPrincipal(record.Id, record.Name, record.Tier, record.Scopes), Expiry(_options.CacheTtl));
        if (_cache.Count >= _options.CacheSize) Trim();
        _cache[id] = entry;
        return entry;
    }

    private long Expiry(TimeSpan ttl) => _clock.GetTimestamp() + (long)(ttl.TotalSeconds * _clock.TimestampFrequency);

    private void Trim()
    {
        var now = _clock.GetTimestamp();
        foreach (var (key, value) in _cache)
            if (value.ExpiresAt <= now) _cache.TryRemove(key, out _);
        // Still full of live entries (a flood of distinct ids): start again rather than grow without bound.
        if (_cache.Count >= _options.CacheSize) _cache.Clear();
    }

    /// <summary>Cached entries (tests and benchmarks).</summary>
    internal int CachedCount => _cache.Count;

    /// <summary>The verified-key check alone, for the benchmark: cache hit path, no I/O.</summary>
    internal ApiKeyPrincipal? VerifyCached(string presented, byte[] pepperBytes)
    {
        if (!ApiKeyToken.TryParse(presented, out var id, out _) || !_cache.TryGetValue(id, out var entry)) return null;
        return Check(entry, presented, pepperBytes);
    }
}
