# syntax=docker/dockerfile:1
# FewStep Functions app for Azure Container Apps serverless GPUs (NVIDIA T4 / A100).
#
#   az acr build -r <registry> -t fewstep-functions:latest .        (or `azd up`, which builds it in the registry)
#
# Stage 1 publishes src/FewStep.Functions for linux-x64 with the .NET 10 SDK. Stage 2 is the Azure Functions
# .NET isolated host image for .NET 10 plus what ONNX Runtime 1.31's CUDA provider loads
# (Microsoft.ML.OnnxRuntime.Gpu.Linux: libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcurand.so.10, and
# cuDNN 9 at run time), from NVIDIA's apt repository for the base image's distribution. The NVIDIA driver
# (libcuda.so.1) is not in the image: the GPU node provides it, and it must support CUDA 13 (driver >= 580).

ARG FUNCTIONS_IMAGE=mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0

FROM ${SDK_IMAGE} AS build
WORKDIR /src
# Build inputs only (see .dockerignore): central package versions, build props, host.json and the sources.
COPY global.json .editorconfig Directory.Build.props Directory.Build.rsp Directory.Packages.props host.json ./
COPY src/ src/
RUN dotnet publish src/FewStep.Functions/FewStep.Functions.csproj -c Release -r linux-x64 --self-contained false \
      -o /app/publish -p:ContinuousIntegrationBuild=true

FROM ${FUNCTIONS_IMAGE} AS runtime
# CUDA 13.0 runtime libraries and cuDNN 9 for CUDA 13 (the runtime package of cudnn9-cuda-13, without headers).
ARG CUDA_PACKAGES="cuda-cudart-13-0 libcublas-13-0 libcurand-13-0 libcudnn9-cuda-13"
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl; \
    . /etc/os-release; \
    distro="${ID}$(echo "${VERSION_ID}" | tr -d .)"; \
    curl -fsSL -o /tmp/cuda-keyring.deb \
      "https://developer.download.nvidia.com/compute/cuda/repos/${distro}/x86_64/cuda-keyring_1.1-1_all.deb"; \
    dpkg -i /tmp/cuda-keyring.deb; \
    rm /tmp/cuda-keyring.deb; \
    apt-get update; \
    apt-get install -y --no-install-recommends ${CUDA_PACKAGES}; \
    apt-get purge -y --auto-remove curl; \
    rm -rf /var/lib/apt/lists/*

# FewStep__KeyCheckUrl: the /v1 (OpenAI-compatible) routes have the host judge a Bearer key through the app's
# function-level key check; inside the container the host is on localhost:80, with no trip through the ingress.
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    FewStep__KeyCheckUrl=http://localhost/api/keys/check \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    FUNCTIONS_WORKER_RUNTIME=dotnet-isolated \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    LD_LIBRARY_PATH=/usr/local/cuda-13.0/targets/x86_64-linux/lib:/usr/local/cuda/lib64:/usr/lib/x86_64-linux-gnu

COPY --from=build /app/publish /home/site/wwwroot
EXPOSE 80
