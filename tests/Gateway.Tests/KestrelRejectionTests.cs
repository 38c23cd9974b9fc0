using System.Net.Sockets;

namespace Platform.Gateway.Tests;

/// <summary>
/// Requests Kestrel refuses before any middleware runs, sent as raw bytes over a socket to the gateway (whose listener is
/// the service defaults' like every service's): each answer is problem details with the status Kestrel chose.
/// </summary>
public sealed class KestrelRejectionTests : IAsyncLifetime
{
    private GatewayHost _host = null!;

    public async Task InitializeAsync() => _host = await GatewayHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>Sends <paramref name="raw"/> and reads until the server closes the connection (or 10 s pass).</summary>
    internal static async Task<string> SendRawAsync(string url, string raw)
    {
        var uri = new Uri(url);
        using var client = new TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(raw));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0) received.Write(buffer, 0, read);
        }
        catch (IOException) { }
        catch (OperationCanceledException) { }
        return Encoding.ASCII.GetString(received.ToArray());
    }

    /// <summary>Status, headers and body of each response in <paramref name="text"/>, in order.</summary>
    internal static List<(int Status, Dictionary<string, string> Headers, string Body)> Parse(string text)
    {
        var responses = new List<(int, Dictionary<string, string>, string)>();
        while (text.Length > 0)
        {
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            var lines = text[..end].Split("\r\n");
            var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
            text = text[(end + 4)..];
            var body = new StringBuilder();
            if (headers.TryGetValue("Content-Length", out var length))
            {
                body.Append(text[..int.Parse(length)]);
                text = text[int.Parse(length)..];
            }
            else
            {
                // Chunked: hex size line, data, CRLF; a zero-size chunk and CRLF end it.
                while (true)
                {
                    var lineEnd = text.IndexOf("\r\n", StringComparison.Ordinal);
                    var size = Convert.ToInt32(text[..lineEnd], 16);
                    text = text[(lineEnd + 2)..];
                    if (size == 0) { text = text[2..]; break; }
                    body.Append(text[..size]);
                    text = text[(size + 2)..];
                }
            }
            responses.Add((int.Parse(lines[0].AsSpan(9, 3)), headers, body.ToString()));
        }
        return responses;
    }

    internal static void AssertProblem((int Status, Dictionary<string, string> Headers, string Body) response, int status)
    {
        Assert.Equal(status, response.Status);
        Assert.Equal("application/problem+json", response.Headers["Content-Type"]);
        using var problem = JsonDocument.Parse(response.Body);
        Assert.Equal(status, problem.RootElement.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("detail").GetString()));
    }

    public static TheoryData<string, int> Refused => new()
    {
        { "GET /" + new string('a', 20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414 },
        { "GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('a', 40_000) + "\r\n\r\n", 431 },
        { "GET /health/live HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400 },
        { "GET /health/live HTTP/1.1\r\n\r\n", 400 },
        { "NOT A REQUEST\r\n\r\n", 505 },
        { "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
        { "POST /v1/market/imports HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400 },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task RawRequest_KestrelRefusesIt_AnswersProblemDetails(string raw, int status)
    {
        var responses = Parse(await SendRawAsync(_host.Url, raw));

        AssertProblem(Assert.Single(responses), status);
    }

    [Fact]
    public async Task RawRequest_ValidThenMalformedOnOneConnection_FirstAnsweredAsUsualSecondAsProblem()
    {
        var responses = Parse(await SendRawAsync(_host.Url,
            "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\nGET /health/live HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n"));

        Assert.Equal(2, responses.Count);
        Assert.Equal(200, responses[0].Status);
        Assert.Equal("Healthy", responses[0].Body);
        AssertProblem(responses[1], 400);
    }
}
