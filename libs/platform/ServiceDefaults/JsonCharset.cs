using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Platform.ServiceDefaults;

/// <summary>
/// JSON between systems is UTF-8 (RFC 8259, section 8.1). A JSON body labelled with another charset is answered 415
/// (problem details from the status-code pages), so it is neither transcoded by guess nor read as if it were UTF-8.
/// </summary>
public static class JsonCharset
{
    public static IApplicationBuilder UseUtf8JsonBodies(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        if (!IsJsonWithForeignCharset(context.Request.ContentType)) return next(context);
        context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
        return Task.CompletedTask;
    });

    /// <summary>True for <c>application/json</c> (or <c>+json</c>) with a charset other than UTF-8.</summary>
    public static bool IsJsonWithForeignCharset(string? contentType) =>
        // Most requests name no charset (or have no body): they are passed without parsing the header.
        contentType is not null && contentType.Contains("charset", StringComparison.OrdinalIgnoreCase)
        && MediaTypeHeaderValue.TryParse(contentType, out var type) && type.Charset.HasValue
        && (type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || type.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase))
        && !type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
        && !type.Charset.Equals("utf8", StringComparison.OrdinalIgnoreCase);
}
