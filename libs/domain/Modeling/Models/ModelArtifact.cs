using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Modeling.Targets;

namespace Platform.Modeling.Models;

/// <summary>
/// The self-describing part of an artifact. Nothing time- or machine-dependent goes here, so the same data and seed
/// give byte-identical artifacts; lineage (who, when, metrics) lives in the registry.
/// </summary>
public sealed record ArtifactHeader(
    int FormatVersion, string Kind, string PayloadFormat, IReadOnlyList<string> FeatureNames, TargetSpec? Target,
    SortedDictionary<string, string> Parameters, int? BestIteration, long PayloadLength, string PayloadSha256);

/// <summary>
/// Artifact layout: the 4 ASCII bytes <c>PMA1</c>, a little-endian uint32 header length, the UTF-8 JSON header, then
/// the payload (XGBoost UBJSON, or JSON for the linear models and baselines). The header carries the payload's
/// SHA-256, checked on read.
/// </summary>
public static class ModelArtifact
{
    public const int FormatVersion = 1;
    private static readonly byte[] Magic = "PMA1"u8.ToArray();

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static byte[] Write(string kind, string payloadFormat, IReadOnlyList<string> featureNames, TargetSpec? target,
        SortedDictionary<string, string> parameters, int? bestIteration, ReadOnlySpan<byte> payload)
    {
        var header = new ArtifactHeader(FormatVersion, kind, payloadFormat, featureNames, target, parameters, bestIteration,
            payload.Length, Convert.ToHexStringLower(SHA256.HashData(payload)));
        var headerBytes = JsonSerializer.SerializeToUtf8Bytes(header, Json);
        var result = new byte[Magic.Length + 4 + headerBytes.Length + payload.Length];
        Magic.CopyTo(result, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(4), (uint)headerBytes.Length);
        headerBytes.CopyTo(result, 8);
        payload.CopyTo(result.AsSpan(8 + headerBytes.Length));
        return result;
    }

    public static (ArtifactHeader Header, byte[] Payload) Read(ReadOnlySpan<byte> artifact)
    {
        if (artifact.Length < 8 || !artifact[..4].SequenceEqual(Magic))
            throw new InvalidDataException("Not a model artifact: the PMA1 signature is missing.");
        var headerLength = BinaryPrimitives.ReadUInt32LittleEndian(artifact[4..]);
        if (headerLength > artifact.Length - 8) throw new InvalidDataException("Truncated model artifact: the header runs past the end.");
        var header = JsonSerializer.Deserialize<ArtifactHeader>(artifact.Slice(8, (int)headerLength), Json)
            ?? throw new InvalidDataException("Model artifact header is empty.");
        if (header.FormatVersion != FormatVersion)
            throw new InvalidDataException($"Model artifact format {header.FormatVersion} is not supported (this build reads {FormatVersion}).");
        var payload = artifact[(8 + (int)headerLength)..].ToArray();
        if (payload.Length != header.PayloadLength)
            throw new InvalidDataException($"Model artifact payload is {payload.Length} bytes, the header says {header.PayloadLength}.");
        var sha = Convert.ToHexStringLower(SHA256.HashData(payload));
        if (sha != header.PayloadSha256)
            throw new InvalidDataException($"Model artifact payload checksum mismatch: {sha}, the header says {header.PayloadSha256}.");
        return (header, payload);
    }

    public static byte[] JsonPayload<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Json);

    public static T FromJsonPayload<T>(byte[] payload) =>
        JsonSerializer.Deserialize<T>(payload, Json) ?? throw new InvalidDataException($"Empty {typeof(T).Name} payload.");

    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    internal static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
