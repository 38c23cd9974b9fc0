using System.Text.Json;

namespace Platform.BuildingBlocks.Tests.Semantics;

/// <summary>Payloads written through the checking writer: marked as JSON whole, and only what it can vouch for.</summary>
public sealed class JsonPayloadTests
{
    private static void Object(Utf8JsonWriter writer, string value)
    {
        writer.WriteStartObject();
        writer.WriteString("a", value);
        writer.WriteEndObject();
    }

    [Fact]
    public void Write_OneObject_TheWholePayloadIsCheckedJsonAndNeitherASliceNorACopyIs()
    {
        var payload = JsonPayload.Write("b", Object);
        Assert.Equal("""{"a":"b"}""", System.Text.Encoding.UTF8.GetString(payload.Span));
        Assert.True(JsonPayload.IsCheckedJson(payload));
        Assert.False(JsonPayload.IsCheckedJson(payload[..5]));
        Assert.False(JsonPayload.IsCheckedJson(payload.ToArray()));
    }

    [Fact]
    public void ToOutgoing_ContractEvent_TheStateJsonsBytesAsCheckedJson()
    {
        var e = new BarClosed("A\"B", "1d", new DateTimeOffset(2024, 3, 4, 0, 0, 0, TimeSpan.Zero), 1.5, 2, 1, 1.75, 1e6, 1.6);
        var outgoing = EventPublisherExtensions.ToOutgoing(e);
        Assert.Equal(StateStoreExtensions.Serialize(e), outgoing.Data.ToArray());
        Assert.True(JsonPayload.IsCheckedJson(outgoing.Data));
    }

    [Fact]
    public void Write_ObjectLeftOpen_Throws() =>
        Assert.Throws<InvalidOperationException>(() => JsonPayload.Write(0, static (w, _) => w.WriteStartObject()));

    [Fact]
    public void Write_NothingWritten_Throws() =>
        Assert.Throws<InvalidOperationException>(() => JsonPayload.Write(0, static (_, _) => { }));

    [Fact]
    public void Write_SecondValueAfterTheFirst_Throws() =>
        Assert.Throws<InvalidOperationException>(() => JsonPayload.Write("b", static (w, b) =>
        {
            Object(w, b);
            Object(w, b);
        }));

    [Fact]
    public void Write_InsideAnotherPayloadsCallback_BothPayloadsHaveOnlyTheirOwnValue()
    {
        ReadOnlyMemory<byte> inner = default;
        var outer = JsonPayload.Write("b", (w, b) =>
        {
            w.WriteStartObject();
            inner = JsonPayload.Write("c", Object);
            w.WriteString("a", b);
            w.WriteEndObject();
        });
        Assert.Equal("""{"a":"b"}""", System.Text.Encoding.UTF8.GetString(outer.Span));
        Assert.Equal("""{"a":"c"}""", System.Text.Encoding.UTF8.GetString(inner.Span));
        Assert.True(JsonPayload.IsCheckedJson(inner));
    }

    [Fact]
    public void Write_AfterACallbackFailed_NextPayloadHasOnlyItsOwnValue()
    {
        Assert.Throws<InvalidOperationException>(() => JsonPayload.Write(0, static (w, _) =>
        {
            w.WriteStartArray();
            throw new InvalidOperationException("callback failed");
        }));
        Assert.Equal("""{"a":"c"}""", System.Text.Encoding.UTF8.GetString(JsonPayload.Write("c", Object).Span));
    }
}
