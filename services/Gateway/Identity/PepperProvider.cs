using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.Secrets;

namespace Platform.Gateway.Identity;

/// <summary>
/// The installation's pepper for API key digests: the secret <c>gateway-apikey-pepper</c> (secret store, or
/// <c>Secrets:gateway-apikey-pepper</c> in configuration), base64 or text of at least 32 bytes. On the embedded runtime
/// without one, a random pepper is generated once into <c>gateway-apikey-pepper</c> in the data directory (owner-only
/// permissions), kept apart from <c>state.db</c> where the digests live. Under Dapr the secret is required.
/// </summary>
public sealed class PepperProvider(ISecretStore secrets, RuntimeSettings runtime, ILogger<PepperProvider> logger)
{
    public const string SecretName = Platform.Contracts.SecretNames.GatewayApiKeyPepper;
    private const int MinimumBytes = 32;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private byte[]? _pepper;

    public ValueTask<byte[]> GetAsync(CancellationToken ct = default) =>
        _pepper is { } p ? ValueTask.FromResult(p) : new ValueTask<byte[]>(LoadAsync(ct));

    private async Task<byte[]> LoadAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (_pepper is { } p) return p;
            var configured = await secrets.GetSecretAsync(SecretName, ct);
            byte[] pepper;
            if (configured is { Length: > 0 }) pepper = Decode(configured);
            else if (runtime.Mode == RuntimeMode.Embedded) pepper = LocalFile(Path.Combine(runtime.DataDir, SecretName));
            else throw new InvalidOperationException(
                $"The secret '{SecretName}' is missing from the secret store: API keys cannot be verified without the installation's pepper.");
            _pepper = pepper;
            return pepper;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static byte[] Decode(string text)
    {
        byte[] bytes;
        try { bytes = Convert.FromBase64String(text); }
        catch (FormatException) { bytes = System.Text.Encoding.UTF8.GetBytes(text); }
        if (bytes.Length < MinimumBytes)
            throw new InvalidOperationException($"The secret '{SecretName}' must hold at least {MinimumBytes} bytes (base64 or text).");
        return bytes;
    }

    private byte[] LocalFile(string path)
    {
        if (File.Exists(path)) return ReadExisting(path);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var pepper = RandomNumberGenerator.GetBytes(MinimumBytes);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using (var stream = new FileStream(path, options))
            using (var writer = new StreamWriter(stream))
                writer.Write(Convert.ToBase64String(pepper));
            logger.LogInformation("Generated the API key pepper in {Path}", path);
            return pepper;
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process (the CLI, another app of the embedded host) created it first: use theirs.
            return ReadExisting(path);
        }
    }

    /// <summary>Reads a pepper file, waiting briefly if its creator has not finished writing it.</summary>
    private static byte[] ReadExisting(string path)
    {
        for (var attempt = 1; ; attempt++)
        {
            var text = File.ReadAllText(path).Trim();
            if (text.Length > 0 || attempt >= 50) return Decode(text);
            Thread.Sleep(20);
        }
    }
}
