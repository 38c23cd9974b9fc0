using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.Contracts;

/// <summary>
/// A vector of doubles as one base64 string of little-endian IEEE-754 doubles: exact, NaN and infinities included, about
/// 11 characters per value, and written without formatting a number. Reads that form, and also a JSON array of numbers
/// (where <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c>, numeric strings and null, read as NaN, are accepted), the
/// form of earlier events.
/// </summary>
public sealed class PackedDoublesJsonConverter : JsonConverter<IReadOnlyList<double>>
{
    public override IReadOnlyList<double>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                var bytes = reader.GetBytesFromBase64();
                if (bytes.Length % sizeof(double) != 0)
                    throw new JsonException($"A packed vector is {bytes.Length} bytes, not a whole number of doubles.");
                var packed = new double[bytes.Length / sizeof(double)];
                if (BitConverter.IsLittleEndian) bytes.AsSpan().CopyTo(MemoryMarshal.AsBytes(packed.AsSpan()));
                else
                    for (var i = 0; i < packed.Length; i++) packed[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)));
                return packed;
            case JsonTokenType.StartArray:
                var list = new List<double>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    list.Add(reader.TokenType switch
                    {
                        JsonTokenType.Number => reader.GetDouble(),
                        JsonTokenType.Null => double.NaN,
                        JsonTokenType.String => ParseString(reader.GetString()!),
                        _ => throw new JsonException($"A vector element is a {reader.TokenType}, not a number."),
                    });
                }
                return list.ToArray();
            default:
                throw new JsonException($"A vector is a {reader.TokenType}, not a base64 string or an array of numbers.");
        }
    }

    private static double ParseString(string text) => text switch
    {
        "NaN" => double.NaN,
        "Infinity" => double.PositiveInfinity,
        "-Infinity" => double.NegativeInfinity,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new JsonException($"A vector element '{text}' is not a number."),
    };

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<double> value, JsonSerializerOptions options) => Write(writer, value);

    /// <summary>Writes <paramref name="values"/> as the packed string value.</summary>
    public static void Write(Utf8JsonWriter writer, IReadOnlyList<double> values)
    {
        if (BitConverter.IsLittleEndian && values is double[] array)
        {
            writer.WriteBase64StringValue(MemoryMarshal.AsBytes(array.AsSpan()));
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(values.Count * sizeof(double));
        try
        {
            for (var i = 0; i < values.Count; i++) BinaryPrimitives.WriteDoubleLittleEndian(buffer.AsSpan(i * sizeof(double)), values[i]);
            writer.WriteBase64StringValue(buffer.AsSpan(0, values.Count * sizeof(double)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
