using System.Diagnostics;

namespace Platform.Gateway.Pipeline;

/// <summary>
/// <c>X-Correlation-Id</c>: kept when the caller sends a sane one (up to 128 characters of letters, digits and
/// <c>-_.:</c>), generated otherwise; forwarded to the service and echoed on the response.
/// </summary>
public static class CorrelationId
{
    public const string Header = "X-Correlation-Id";
    public const string ItemKey = "Platform.CorrelationId";
    private const int MaxLength = 128;

    public static IApplicationBuilder UseCorrelationId(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var incoming = context.Request.Headers[Header];
        var id = incoming.Count == 1 && IsValid(incoming[0]) ? incoming[0]! : NewId();
        context.Request.Headers[Header] = id;
        context.Items[ItemKey] = id;
        context.Response.OnStarting(EchoAsync, context);
        // A span that is not recorded (no exporter) would only carry the tag to nobody.
        if (Activity.Current is { IsAllDataRequested: true } activity) activity.SetTag("correlation.id", id);
        return next(context);
    });

    /// <summary>Sets the header when the response starts, so an answer that cleared the headers on the way (an error) still carries it.</summary>
    private static readonly Func<object, Task> EchoAsync = static state =>
    {
        var context = (HttpContext)state;
        context.Response.Headers[Header] = (string)context.Items[ItemKey]!;
        return Task.CompletedTask;
    };

    private static string NewId() => Activity.Current?.TraceId.ToHexString() is { } trace && trace != "00000000000000000000000000000000"
        ? trace
        : Guid.NewGuid().ToString("N");

    private static bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength) return false;
        foreach (var c in value)
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.' or ':')) return false;
        return true;
    }
}
