namespace FewStep.Onnx;
