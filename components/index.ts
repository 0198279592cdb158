/**
 * ml-platform components: everything a Pulumi program needs to run TensorFlow-Serving-based machine
 * learning on EKS. Each component is a thin shell over exported pure spec builders.
 */
export * from "./common/validation";
export * from "./common/kubernetes";
export * from "./storage/model-store-backend";
export * from "./storage/s3-policies";
export * from "./storage/model-store";
export * from "./compute/gpu-instances";
export * from "./compute/nvidia-device-plugin";
export * from "./compute/gpu-node-pool";
export * from "./training/args";
export * from "./training/frameworks/types";
export * from "./training/frameworks/registry";
export * from "./training/frameworks/tensorflow";
export * from "./training/frameworks/pytorch";
export * from "./training/frameworks/mxnet";
export * from "./training/frameworks/custom";
export * from "./training/plan";
export * from "./training/scripts";
export * from "./training/workload";
export * from "./training/jobset-controller";
export * from "./training/training-job";
export * from "./training/linear-example";
