using System.Net;
using System.Security.Claims;
using System.Text;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Moq;

namespace FewStep.Functions.Tests.Support;

/// <summary>An <see cref="HttpRequestData"/> with a body, headers and URL, whose responses the test can read.</summary>
internal sealed class TestHttpRequest : HttpRequestData
{
    private TestHttpRequest(FunctionContext context, string method, Uri url, Stream body)
        : base(context)
    {
        Method = method;
        Url = url;
        Body = body;
    }

    public override Stream Body { get; }

    public override HttpHeadersCollection Headers { get; } = [];

    public override IReadOnlyCollection<IHttpCookie> Cookies { get; } = [];

    public override Uri Url { get; }

    public override IEnumerable<ClaimsIdentity> Identities { get; } = [];

    public override string Method { get; }

    public static TestHttpRequest Post(string json, string url = "https://fewstep.example/api/generations") =>
        Create("POST", url, Encoding.UTF8.GetBytes(json));

    public static TestHttpRequest Get(string url) => Create("GET", url, []);

    public static TestHttpRequest Delete(string url) => Create("DELETE", url, []);

    public static TestHttpRequest Create(string method, string url, byte[] body) =>
        new(new Mock<FunctionContext>().Object, method, new Uri(url), new MemoryStream(body));

    public TestHttpRequest WithHeader(string name, string value)
    {
        Headers.Add(name, value);
        return this;
    }

    public override HttpResponseData CreateResponse() => new TestHttpResponse(FunctionContext);
}

/// <summary>The response side: status, headers and a readable body.</summary>
internal sealed class TestHttpResponse : HttpResponseData
{
    public TestHttpResponse(FunctionContext context)
        : base(context)
    {
    }

    public override HttpStatusCode StatusCode { get; set; }

    public override HttpHeadersCollection Headers { get; set; } = [];

    public override Stream Body { get; set; } = new MemoryStream();

    public override HttpCookies Cookies { get; } = new Mock<HttpCookies>().Object;
}
