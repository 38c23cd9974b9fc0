using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Platform.ServiceDefaults;

/// <summary>
/// The listener every service gets. Its own URLs (<c>--urls</c>, <c>ASPNETCORE_URLS</c>) accept HTTP/1.1 (and HTTP/2 over
/// TLS); with <c>Internal:H2cPort</c> set, a second listener on loopback speaks cleartext HTTP/2 only, for the gateway's hop
/// (Kestrel cannot tell HTTP/1.1 from cleartext HTTP/2 on one port). Requests Kestrel refuses before the app sees them
/// (400 malformed, 408, 414 request line too long, 431 headers too large, 505 unknown version) are answered with problem
/// details, like every other error.
/// </summary>
public static class KestrelDefaults
{
    public const string H2cPortKey = "Internal:H2cPort";

    internal static void AddKestrelDefaults(this WebApplicationBuilder builder)
    {
        var h2c = new H2cListener();
        builder.Services.AddSingleton(h2c);
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            kestrel.ConfigureEndpointDefaults(listen =>
            {
                if (listen.Protocols != HttpProtocols.Http2) listen.Use(RejectionsAsProblems);
            });
            if (context.Configuration.GetValue<int?>(H2cPortKey) is not int port) return;
            // An explicit listener replaces the URLs, so they are bound here too, first (the first address stays the service's).
            var urls = context.Configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } configured ? configured : "http://localhost:5000";
            foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                Bind(kestrel, BindingAddress.Parse(url));
            kestrel.Listen(IPAddress.Loopback, port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                h2c.Options = listen;
            });
        });
    }

    private static void Bind(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions kestrel, BindingAddress address)
    {
        if (!string.Equals(address.Scheme, "http", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"{H2cPortKey} is set: the service's own URLs must be http:// (got {address}).");
        if (address.Host is "*" or "+" or "[::]" or "0.0.0.0") kestrel.ListenAnyIP(address.Port);
        else if (address.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) kestrel.ListenLocalhost(address.Port);
        else kestrel.Listen(IPAddress.Parse(address.Host.Trim('[', ']')), address.Port);
    }

    /// <summary>The HTTP/2-only listener, once bound (null without <c>Internal:H2cPort</c>).</summary>
    public sealed class H2cListener
    {
        internal ListenOptions? Options { get; set; }

        /// <summary>Its address after binding, e.g. <c>http://127.0.0.1:43117</c>.</summary>
        public string? Url => Options?.EndPoint is IPEndPoint endpoint ? $"http://{endpoint}" : null;
    }

    private static readonly object TrackerKey = new();

    /// <summary>Requests of one connection handed to the app whose response is not complete yet.</summary>
    private sealed class RequestTracker
    {
        public int Active;
    }

    private static ConnectionDelegate RejectionsAsProblems(ConnectionDelegate next) => async connection =>
    {
        var tracker = new RequestTracker();
        connection.Items[TrackerKey] = tracker;
        var transport = connection.Transport;
        connection.Transport = new RewritingPipe(transport, tracker);
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = transport;
        }
    };

    /// <summary>First in every service's pipeline: marks the connection busy until the response is complete.</summary>
    internal static void UseRequestTracking(this WebApplication app) => app.Use((context, next) =>
    {
        if (context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(TrackerKey, out var value) == true && value is RequestTracker tracker)
        {
            Interlocked.Increment(ref tracker.Active);
            context.Response.OnCompleted(static state =>
            {
                Interlocked.Decrement(ref ((RequestTracker)state).Active);
                return Task.CompletedTask;
            }, tracker);
        }
        return next(context);
    });

    private sealed class RewritingPipe(IDuplexPipe inner, RequestTracker tracker) : IDuplexPipe
    {
        public PipeReader Input => inner.Input;
        public PipeWriter Output { get; } = new RewritingWriter(inner.Output, tracker);
    }

    /// <summary>
    /// Passes every write through, except a response written while no request of the connection is in the app: that is
    /// Kestrel refusing one it could not parse. Such a response (an empty 4xx that closes the connection) is replaced by
    /// the same status and headers with a problem details body.
    /// </summary>
    private sealed class RewritingWriter(PipeWriter inner, RequestTracker tracker) : PipeWriter
    {
        private Memory<byte> _buffer;

        public override Memory<byte> GetMemory(int sizeHint = 0) => _buffer = inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => (_buffer = inner.GetMemory(sizeHint)).Span;

        public override void Advance(int bytes)
        {
            if (bytes > 0 && Volatile.Read(ref tracker.Active) == 0 && bytes <= _buffer.Length
                && Rewrite(_buffer.Span[..bytes]) is { } replacement)
            {
                inner.Advance(0);
                inner.Write(replacement);
                return;
            }
            inner.Advance(bytes);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);
        public override void CancelPendingFlush() => inner.CancelPendingFlush();
        public override void Complete(Exception? exception = null) => inner.Complete(exception);
        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;
        public override long UnflushedBytes => inner.UnflushedBytes;
    }

    private static readonly byte[] EmptyBody = "content-length: 0\r\n"u8.ToArray();
    private static readonly byte[] Close = "connection: close\r\n"u8.ToArray();

    /// <summary>The problem details version of Kestrel's own refusal, or null when <paramref name="written"/> is not one.</summary>
    internal static byte[]? Rewrite(ReadOnlySpan<byte> written)
    {
        // "HTTP/1.1 431 ...\r\n" ... "\r\n\r\n", nothing after the headers; a 4xx, or 505 for a version Kestrel does not speak.
        if (written.Length < 16 || !written.StartsWith("HTTP/1."u8) || !written.EndsWith("\r\n\r\n"u8)
            || !(written[9] == (byte)'4' || written[9..12].SequenceEqual("505"u8))) return null;
        var text = Encoding.ASCII.GetString(written);
        var lower = text.ToLowerInvariant();
        if (!lower.Contains(Encoding.ASCII.GetString(EmptyBody), StringComparison.Ordinal) || !lower.Contains(Encoding.ASCII.GetString(Close), StringComparison.Ordinal))
            return null;
        var lines = text[..^4].Split("\r\n");
        if (!int.TryParse(lines[0].AsSpan(9, 3), out var status)) return null;
        var title = lines[0].Length > 13 ? lines[0][13..] : "Bad Request";
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["type"] = $"https://httpstatuses.io/{status}",
            ["title"] = title,
            ["status"] = status,
            ["detail"] = Detail(status),
        });
        var response = new StringBuilder(lines[0]).Append("\r\n");
        foreach (var line in lines.Skip(1))
            if (!line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) response.Append(line).Append("\r\n");
        response.Append("Content-Type: application/problem+json\r\nContent-Length: ").Append(body.Length).Append("\r\n\r\n");
        return [.. Encoding.ASCII.GetBytes(response.ToString()), .. body];
    }

    private static string Detail(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "The request could not be parsed: malformed request line, header or framing.",
        StatusCodes.Status408RequestTimeout => "The request headers did not arrive in time.",
        StatusCodes.Status414UriTooLong => "The request line (method, path and query) is longer than the server accepts.",
        StatusCodes.Status431RequestHeaderFieldsTooLarge => "The request headers are larger than the server accepts.",
        StatusCodes.Status505HttpVersionNotsupported => "The request line does not end in HTTP/1.0 or HTTP/1.1.",
        _ => "The server refused the request before reading it.",
    };
}
